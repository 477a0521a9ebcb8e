/**
 * The load arithmetic: classic overhead as the kernel's 32-bit int, and the per-weight comparison
 * as exact 64-bit products (checked against BigInt).
 */
import assert from 'node:assert/strict';
import { DestTable } from '../src/ipvs/dest-table';
import { destOverhead, moreLoadedPerWeight } from '../src/sched/overhead';

describe('scheduler load arithmetic', () => {
  it('destOverhead = active * 256 + inactive, wrapping like a 32-bit int', () => {
    const t = new DestTable(2);
    const id = t.allocate();
    const overhead = (active: number, inactive: number): number => {
      t.activeConns[id] = active;
      t.inactConns[id] = inactive;
      return destOverhead(t, id);
    };
    assert.equal(overhead(0, 0), 0);
    assert.equal(overhead(3, 100), 868);
    assert.equal(overhead(0, 255), 255);
    assert.equal(overhead(1, 0), 256);
    assert.equal(overhead(2 ** 23 - 1, 255), 2 ** 31 - 1);
    assert.equal(overhead(2 ** 23, 0), -(2 ** 31)); // the kernel's int wraps here
    assert.equal(overhead(2 ** 23 - 1, 256), -(2 ** 31));
  });

  it('moreLoadedPerWeight compares loadA * weightB > loadB * weightA', () => {
    assert.equal(moreLoadedPerWeight(868, 3, 522, 2), true); // 1736 > 1566
    assert.equal(moreLoadedPerWeight(522, 2, 256, 1), true); // 522 * 1 > 256 * 2
    assert.equal(moreLoadedPerWeight(512, 2, 256, 1), false); // a tie is not "more"
    assert.equal(moreLoadedPerWeight(1024, 1, 0, 0), false); // weight 0 side: 0 > 0 is false
  });

  it('is exact where a double product would round (weights beyond 65535)', () => {
    // (2^31 - 2)^2 exceeds (2^31 - 3) * (2^31 - 1) by exactly 1; both are near 2^62, where
    // doubles are 1024 apart, so a plain product comparison sees them equal.
    const y = 2 ** 31 - 3;
    assert.equal((y + 1) * (y + 1) > y * (y + 2), false); // what plain doubles say
    assert.equal(moreLoadedPerWeight(y + 1, y + 2, y, y + 1), true);
    assert.equal(moreLoadedPerWeight(y, y + 1, y + 1, y + 2), false);
    // The same identity, (x+1)^2 = x(x+2) + 1, for many large x: a family of off-by-one products.
    let roundedAway = 0;
    for (let x = 2 ** 31 - 3; x > 2 ** 26; x -= 9973 * 97) {
      assert.equal(moreLoadedPerWeight(x + 1, x + 2, x, x + 1), true, `x = ${x}`);
      if (!((x + 1) * (x + 1) > x * (x + 2))) roundedAway++;
    }
    assert.ok(roundedAway > 100, `roundedAway = ${roundedAway}`);
  });

  it('agrees with BigInt products on random int32 loads and weights', () => {
    let seed = 99;
    const rand32 = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed | 0;
    };
    const pick = (): number => {
      const kind = rand32() >>> 30; // the high bits: an LCG's low bits are not random
      const r = rand32();
      switch (kind) {
        case 0: return r >> 20; // small, either sign
        case 1: return (r >>> 16) & 0xffff; // ipvsadm's weight range
        case 2: return r & 0x7fffffff; // any non-negative int32
        default: return r; // any int32
      }
    };
    let trues = 0;
    for (let k = 0; k < 20000; k++) {
      const [la, wa, lb, wb] = [pick(), pick(), pick(), pick()];
      const want = BigInt(la) * BigInt(wb) > BigInt(lb) * BigInt(wa);
      assert.equal(moreLoadedPerWeight(la, wa, lb, wb), want, `${la} ${wa} ${lb} ${wb}`);
      if (want) trues++;
      // Near-ties: the same products shifted by one unit of load.
      const lc = (la + 1) | 0;
      assert.equal(moreLoadedPerWeight(lc, wa, lb, wb), BigInt(lc) * BigInt(wb) > BigInt(lb) * BigInt(wa));
    }
    assert.ok(trues > 5000 && trues < 15000, `trues = ${trues}`);
  });
});
