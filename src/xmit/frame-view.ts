/**
 * DataViews over the buffers the rewriters write into, so that the in-place fast paths store
 * and load 16- and 32-bit big-endian fields in one access each. A view is made when a buffer is
 * first seen, never per packet: the engine writes into two buffers at most (the frame's own
 * buffer when rewriting in place, the output batch's slab otherwise), and both are remembered.
 */

let viewBufA: Uint8Array | null = null;
let viewA: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let viewBufB: Uint8Array | null = null;
let viewB: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * A DataView covering exactly buf (same bytes, same indexes), or null for a buffer whose length
 * can change under a fixed view (resizable ArrayBuffer, growable SharedArrayBuffer): callers
 * then use their byte-by-byte code. The caller keeps its accesses inside [0, buf.length), as it
 * would for buf itself (a detached buffer has length 0, so nothing is accessed).
 */
export function frameView(buf: Uint8Array): DataView<ArrayBufferLike> | null {
  if (buf === viewBufA) return viewA;
  if (buf === viewBufB) return viewB;
  return adoptView(buf);
}

/** Remembers a view of buf in place of the older of the two. */
function adoptView(buf: Uint8Array): DataView<ArrayBufferLike> | null {
  const backing = buf.buffer as { resizable?: boolean; growable?: boolean };
  if (backing.resizable === true || backing.growable === true) return null;
  viewBufB = viewBufA;
  viewB = viewA;
  viewA = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  viewBufA = buf;
  return viewA;
}
