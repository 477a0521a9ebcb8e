/**
 * The printf pieces ipvsadm's listings are made of, for JS numbers holding C integers (exact up
 * to 2^53): padded fields, C's int/unsigned views of a value, and print_largenum, the 9-character
 * counter cell of --stats and --rate with its K/M/G/T scaling (powers of 1000, truncating).
 */

const TWO_32 = 4294967296;

/** `%-Ns`: left-justified in at least `width` characters (longer text is not cut). */
export function padRight(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** `%Ns`: right-justified in at least `width` characters. */
export function padLeft(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** A C `unsigned int` view of an integer (what `%u` of a __u32 prints). */
export function asUnsigned32(value: number): number {
  return lowBits32(value);
}

/** A C `int` view of an integer (what `%d` prints): 4294967295 is -1. */
export function asSigned32(value: number): number {
  const low = lowBits32(value);
  return low >= 0x80000000 ? low - TWO_32 : low;
}

/**
 * The low 32 bits of a non-negative integer up to 2^53 (what nla_get_u32 reads from a 64-bit
 * attribute on a little-endian machine). `% 2^32` is exact for integers, unlike `>>> 0` above 2^53.
 */
export function lowBits32(value: number): number {
  const r = Math.trunc(value) % TWO_32;
  return r < 0 ? r + TWO_32 : r;
}

/** Decimal digits of a non-negative integer (no exponent notation below 10^21). */
export function decimal(value: number): string {
  return Math.trunc(value).toFixed(0);
}

/** Exact integer division of non-negative integers (floating `/` can round up across an integer). */
function divide(value: number, by: number): number {
  return (value - (value % by)) / by;
}

const SCALES: readonly { below: number; divisor: number; suffix: string }[] = [
  { below: 1e9, divisor: 1e3, suffix: 'K' },
  { below: 1e11, divisor: 1e6, suffix: 'M' },
  { below: 1e14, divisor: 1e9, suffix: 'G' },
];

/**
 * ipvsadm's print_largenum: below 100,000,000 the value in 9 characters; above, the value
 * divided by 1000, 10^6, 10^9 or 10^12 in 8 characters plus K, M, G or T. With --exact the whole
 * value, right-justified in 9 characters or its length + 1 (always one leading space).
 */
export function largeNumber(value: number, exact: boolean): string {
  const v = Math.max(0, Math.trunc(value));
  const digits = decimal(v);
  if (exact) return padLeft(digits, digits.length <= 8 ? 9 : digits.length + 1);
  if (v < 1e8) return padLeft(digits, 9);
  for (const s of SCALES) {
    if (v < s.below) return padLeft(decimal(divide(v, s.divisor)), 8) + s.suffix;
  }
  return padLeft(decimal(divide(v, 1e12)), 8) + 'T';
}
