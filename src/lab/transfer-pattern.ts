/**
 * The bytes of the lab's long transfers (rs-server's /bytes and /stream): byte i of a body is
 * patternByte(i), so the client checks every byte it received without the server sending a hash.
 */
export function patternByte(i: number): number {
  return (i * 31 + 7) & 0xff;
}

/** The n pattern bytes starting at offset `from`. */
export function patternChunk(from: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = patternByte(from + i);
  return b;
}

/** Offset of the first byte of `chunk` (received at body offset `from`) that breaks the pattern, or -1. */
export function patternMismatch(chunk: Uint8Array, from: number): number {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== patternByte(from + i)) return from + i;
  return -1;
}
