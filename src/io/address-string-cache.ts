/**
 * Address strings for APIs that take only strings (raw-socket's send), made once per address and
 * then looked up by the address bytes: a direct-mapped cache, so a hit allocates nothing and the
 * memory is bounded. A miss (a new address, or one that evicted another from its slot) makes one
 * string.
 */

export class Ipv4StringCache {
  private readonly keys: Uint32Array;
  private readonly valid: Uint8Array;
  private readonly strings: string[];
  private readonly mask: number;
  private readonly shift: number;
  misses = 0;

  /** slotsLog2: 2^slotsLog2 slots (default 4096). */
  constructor(slotsLog2 = 12) {
    const n = 1 << slotsLog2;
    this.keys = new Uint32Array(n);
    this.valid = new Uint8Array(n);
    this.strings = new Array<string>(n).fill('');
    this.mask = n - 1;
    this.shift = 32 - slotsLog2;
  }

  /** The dotted quad of the 4 bytes at buf[off]. */
  get(buf: Uint8Array, off: number): string {
    const a = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
    const slot = (Math.imul(a, 0x9e3779b1) >>> this.shift) & this.mask;
    if (this.valid[slot] === 1 && this.keys[slot] === a) return this.strings[slot];
    this.misses++;
    const s = `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
    this.keys[slot] = a;
    this.valid[slot] = 1;
    this.strings[slot] = s;
    return s;
  }
}

export class Ipv6StringCache {
  private readonly keys: Int32Array;
  private readonly valid: Uint8Array;
  private readonly strings: string[];
  private readonly mask: number;
  private readonly shift: number;
  misses = 0;

  /** slotsLog2: 2^slotsLog2 slots (default 1024). */
  constructor(slotsLog2 = 10) {
    const n = 1 << slotsLog2;
    this.keys = new Int32Array(4 * n);
    this.valid = new Uint8Array(n);
    this.strings = new Array<string>(n).fill('');
    this.mask = n - 1;
    this.shift = 32 - slotsLog2;
  }

  /** The address of the 16 bytes at buf[off], as eight uncompressed hexadecimal groups. */
  get(buf: Uint8Array, off: number): string {
    const w0 = word(buf, off);
    const w1 = word(buf, off + 4);
    const w2 = word(buf, off + 8);
    const w3 = word(buf, off + 12);
    const h = Math.imul(w0 ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f), 0x9e3779b1);
    const slot = (h >>> this.shift) & this.mask;
    const k = slot * 4;
    const keys = this.keys;
    if (this.valid[slot] === 1 && keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) {
      return this.strings[slot];
    }
    this.misses++;
    let s = '';
    for (let i = 0; i < 16; i += 2) {
      s += (i === 0 ? '' : ':') + ((buf[off + i] << 8) | buf[off + i + 1]).toString(16);
    }
    keys[k] = w0;
    keys[k + 1] = w1;
    keys[k + 2] = w2;
    keys[k + 3] = w3;
    this.valid[slot] = 1;
    this.strings[slot] = s;
    return s;
  }
}

function word(buf: Uint8Array, off: number): number {
  return (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}
