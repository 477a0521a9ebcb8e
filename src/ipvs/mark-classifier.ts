/**
 * The director file's `mark` rules, compiled into typed arrays: gives a packet the firewall mark
 * that iptables' MARK target would, so firewall-mark services (-f) can be matched. Rules are tried
 * in order; the first rule whose every given criterion matches decides. Consulted only for a packet
 * that may start a connection, never for packets of existing connections (as in IPVS, where the
 * mark only matters for the service lookup).
 */
import type { MarkRuleConfig } from '../control/config';
import type { ParsedFrame } from '../wire/parsed-frame';

const ANY = -1;

function wordAt(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export class MarkClassifier {
  readonly count: number;
  private readonly marks: Float64Array;
  private readonly protocol: Int32Array;
  /** 0 = any family, else 4/6 (from the rule's prefixes). */
  private readonly af: Int32Array;
  private readonly srcWords: Uint32Array;
  private readonly srcPlen: Int32Array;
  private readonly dstWords: Uint32Array;
  private readonly dstPlen: Int32Array;
  private readonly sport: Int32Array;
  private readonly dport: Int32Array;

  constructor(rules: readonly MarkRuleConfig[]) {
    const n = rules.length;
    this.count = n;
    this.marks = new Float64Array(n);
    this.protocol = new Int32Array(n);
    this.af = new Int32Array(n);
    this.srcWords = new Uint32Array(4 * n);
    this.srcPlen = new Int32Array(n).fill(ANY);
    this.dstWords = new Uint32Array(4 * n);
    this.dstPlen = new Int32Array(n).fill(ANY);
    this.sport = new Int32Array(2 * n).fill(ANY);
    this.dport = new Int32Array(2 * n).fill(ANY);
    rules.forEach((r, i) => {
      this.marks[i] = r.mark;
      this.protocol[i] = r.protocol;
      const fam = r.src?.addr.af ?? r.dst?.addr.af ?? 0;
      this.af[i] = fam;
      if (r.src) this.setPrefix(this.srcWords, this.srcPlen, i, r.src.addr.bytes, r.src.prefixLen);
      if (r.dst) this.setPrefix(this.dstWords, this.dstPlen, i, r.dst.addr.bytes, r.dst.prefixLen);
      if (r.sport) this.sport.set(r.sport, 2 * i);
      if (r.dport) this.dport.set(r.dport, 2 * i);
    });
  }

  private setPrefix(words: Uint32Array, plens: Int32Array, i: number, bytes: Uint8Array, plen: number): void {
    for (let k = 0; k < bytes.length; k += 4) words[4 * i + (k >> 2)] = wordAt(bytes, k);
    plens[i] = plen;
  }

  /** The packet's mark, 0 when no rule matches. */
  classify(buf: Uint8Array, pf: ParsedFrame): number {
    for (let i = 0; i < this.count; i++) {
      if (this.protocol[i] !== 0 && this.protocol[i] !== pf.proto) continue;
      if (this.af[i] !== 0 && this.af[i] !== pf.af) continue;
      if (this.srcPlen[i] !== ANY && !this.inPrefix(this.srcWords, i, this.srcPlen[i], buf, pf.srcOff)) continue;
      if (this.dstPlen[i] !== ANY && !this.inPrefix(this.dstWords, i, this.dstPlen[i], buf, pf.dstOff)) continue;
      const s = this.sport[2 * i];
      if (s !== ANY && (pf.sport < s || pf.sport > this.sport[2 * i + 1])) continue;
      const d = this.dport[2 * i];
      if (d !== ANY && (pf.dport < d || pf.dport > this.dport[2 * i + 1])) continue;
      return this.marks[i];
    }
    return 0;
  }

  private inPrefix(words: Uint32Array, i: number, plen: number, buf: Uint8Array, off: number): boolean {
    let left = plen;
    for (let k = 0; left > 0; k++, left -= 32) {
      const mask = left >= 32 ? 0xffffffff : ~(0xffffffff >>> left) >>> 0;
      if (((wordAt(buf, off + 4 * k) & mask) >>> 0) !== ((words[4 * i + k] & mask) >>> 0)) return false;
    }
    return true;
  }
}
