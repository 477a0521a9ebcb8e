/**
 * The copy of the IP packet that every rewriter makes, with copyBytes's result (memmove within
 * one buffer) but faster where it is safe: a move inside one buffer (an in-place rewrite that
 * drops VLAN tags) is one copyWithin, a copy between two buffers goes four bytes at a time
 * through DataViews. Anything unusual (ranges outside the buffers, fractional offsets, two
 * different arrays over the same memory) is left to copyBytes.
 */
import { copyBytes } from '../wire/bytes';
import { frameView } from './frame-view';

/** Copies n bytes from src[srcOff..] to out[outOff..] exactly as copyBytes does. Allocates nothing. */
export function copyPacket(src: Uint8Array, srcOff: number, out: Uint8Array, outOff: number, n: number): void {
  if (
    n > 0 &&
    srcOff >= 0 &&
    outOff >= 0 &&
    srcOff <= src.length - n &&
    outOff <= out.length - n &&
    Math.floor(srcOff) === srcOff &&
    Math.floor(outOff) === outOff &&
    Math.floor(n) === n
  ) {
    if (src === out) {
      if (srcOff !== outOff) out.copyWithin(outOff, srcOff, srcOff + n);
      return;
    }
    if (src.buffer !== out.buffer) {
      const from = frameView(src);
      const to = frameView(out);
      if (from !== null && to !== null) {
        copyWords(from, srcOff, to, outOff, n);
        return;
      }
    }
  }
  copyBytes(src, srcOff, out, outOff, n);
}

/** Copies n bytes between two views of different memory, a 32-bit word at a time, then the tail. */
function copyWords(
  from: DataView<ArrayBufferLike>,
  fromOff: number,
  to: DataView<ArrayBufferLike>,
  toOff: number,
  n: number,
): void {
  const words = n & ~3;
  let i = 0;
  for (; i < words; i += 4) to.setUint32(toOff + i, from.getUint32(fromOff + i));
  for (; i < n; i++) to.setUint8(toOff + i, from.getUint8(fromOff + i));
}
