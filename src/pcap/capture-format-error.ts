/**
 * The one error a capture reader throws for bad input: it names the file, the byte offset where the problem
 * was found, and what is wrong, so a user can open the file in a hex editor and see it. Errors of the file
 * system itself (no such file, permission denied) are passed through unchanged.
 */
export class CaptureFormatError extends Error {
  constructor(
    /** The path as it was given to the reader. */
    readonly file: string,
    /** File offset (from 0) of the header or field that is wrong. */
    readonly byteOffset: number,
    /** What is wrong, without the file and offset. */
    readonly detail: string,
  ) {
    super(`${file}: byte ${byteOffset}: ${detail}`);
    this.name = 'CaptureFormatError';
  }
}
