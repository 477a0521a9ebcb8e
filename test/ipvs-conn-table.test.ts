import assert from 'node:assert/strict';
import { ConnTable, type ExpiryHandler } from '../src/ipvs/conn-table';

function v4(a: number, b: number, c: number, d: number): Uint8Array {
  return Uint8Array.of(a, b, c, d);
}

/** A buffer holding the client address then the virtual address, as a packet's source and destination. */
function pair(client: Uint8Array, virt: Uint8Array): Uint8Array {
  const b = new Uint8Array(client.length + virt.length);
  b.set(client, 0);
  b.set(virt, client.length);
  return b;
}

/** Expires everything due, recording the slots. */
class Recorder implements ExpiryHandler {
  expired: number[] = [];
  keep = new Set<number>();
  connExpired(t: ConnTable, slot: number): boolean {
    if (this.keep.has(slot)) {
      t.setExpires(slot, t.now + 1000);
      this.keep.delete(slot);
      return false;
    }
    this.expired.push(slot);
    return true;
  }
}

describe('ConnTable', () => {
  const vip = v4(192, 0, 2, 10);

  it('finds an entry by the client side and the virtual address/port, and nothing else', () => {
    const t = new ConnTable(1, 16);
    const c = v4(198, 51, 100, 7);
    const s = t.create(6, pair(c, vip), 0, 40000, c.length, 80, 3, 8080, 0, 5000);
    assert.equal(t.lookupIn(6, pair(c, vip), 0, 40000, c.length, 80), s);
    assert.equal(t.lookupIn(17, pair(c, vip), 0, 40000, c.length, 80), -1, 'other protocol');
    assert.equal(t.lookupIn(6, pair(c, vip), 0, 40001, c.length, 80), -1, 'other client port');
    assert.equal(t.lookupIn(6, pair(c, vip), 0, 40000, c.length, 81), -1, 'other virtual port');
    assert.equal(t.lookupIn(6, pair(v4(198, 51, 100, 8), vip), 0, 40000, 4, 80), -1, 'other client');
    assert.equal(t.lookupIn(6, pair(c, v4(192, 0, 2, 11)), 0, 40000, 4, 80), -1, 'other VIP');
    assert.equal(t.dest(s), 3);
    assert.equal(t.dport(s), 8080);
  });

  it('keys IPv6 entries on all 128 bits', () => {
    const t = new ConnTable(4, 16);
    const a = new Uint8Array(16);
    a[0] = 0x20; a[1] = 0x01; a[15] = 1;
    const b = a.slice();
    b[8] = 1; // differs only in the third word
    const v = new Uint8Array(16);
    v[0] = 0x20; v[15] = 0x80;
    const s = t.create(6, pair(a, v), 0, 1000, a.length, 80, 0, 80, 0, 100);
    assert.equal(t.lookupIn(6, pair(a, v), 0, 1000, a.length, 80), s);
    assert.equal(t.lookupIn(6, pair(b, v), 0, 1000, b.length, 80), -1);
  });

  it('grows past its initial capacity keeping every entry findable, and refuses past the maximum', () => {
    const t = new ConnTable(1, 16, 5000);
    const addr = new Uint8Array(4);
    for (let i = 0; i < 5000; i++) {
      addr.set(v4(10, (i >> 16) & 255, (i >> 8) & 255, i & 255));
      assert.ok(t.create(17, pair(addr, vip), 0, 1000 + (i % 7), addr.length, 53, i, 53, 0, 1000) >= 0);
    }
    assert.equal(t.count, 5000);
    assert.equal(t.create(17, pair(addr, vip), 0, 9, addr.length, 53, 0, 53, 0, 1000), -1, 'table full');
    for (let i = 0; i < 5000; i++) {
      addr.set(v4(10, (i >> 16) & 255, (i >> 8) & 255, i & 255));
      const s = t.lookupIn(17, pair(addr, vip), 0, 1000 + (i % 7), addr.length, 53);
      assert.ok(s >= 0 && t.dest(s) === i, `entry ${i}`);
    }
  });

  it('holds a maximum below its smallest allocation exactly (a limit of 3 refuses the 4th)', () => {
    const t = new ConnTable(1, 3, 3);
    const addr = new Uint8Array(4);
    for (let i = 0; i < 3; i++) {
      addr.set(v4(10, 0, 0, i + 1));
      assert.ok(t.create(17, pair(addr, vip), 0, 1000, addr.length, 53, i, 53, 0, 1000) >= 0);
    }
    addr.set(v4(10, 0, 0, 9));
    assert.equal(t.create(17, pair(addr, vip), 0, 1000, addr.length, 53, 0, 53, 0, 1000), -1);
    assert.equal(t.count, 3);
  });

  it('expires entries exactly when the clock reaches their time, and re-arming moves them', () => {
    const t = new ConnTable(1, 16);
    const r = new Recorder();
    const a = t.create(6, pair(v4(1, 1, 1, 1), vip), 0, 1, 4, 80, 0, 80, 0, 300);
    const b = t.create(6, pair(v4(1, 1, 1, 2), vip), 0, 1, 4, 80, 0, 80, 0, 500);
    t.advance(299, r);
    assert.deepEqual(r.expired, []);
    t.rearm(b, 200); // moved earlier: must fire at 200... already past → next tick
    t.advance(300, r);
    assert.deepEqual(r.expired.sort(), [a, b].sort());
    assert.equal(t.count, 0);
    assert.equal(t.lookupIn(6, pair(v4(1, 1, 1, 1), vip), 0, 1, 4, 80), -1);
  });

  it('handles expiries beyond one turn of the wheel and long jumps of the clock', () => {
    const t = new ConnTable(1, 16);
    const r = new Recorder();
    const far = t.create(17, pair(v4(2, 2, 2, 2), vip), 0, 7, 4, 53, 0, 53, 0, 900_000); // 900 s: ~14 turns
    const near = t.create(17, pair(v4(2, 2, 2, 3), vip), 0, 7, 4, 53, 0, 53, 0, 70_000);
    t.advance(69_999, r);
    assert.deepEqual(r.expired, []);
    t.advance(70_000, r);
    assert.deepEqual(r.expired, [near]);
    t.advance(899_999, r);
    assert.deepEqual(r.expired, [near]);
    t.advance(5_000_000, r); // a jump of more than a turn
    assert.deepEqual(r.expired, [near, far]);
  });

  it('lets the handler keep an entry by moving its expiry', () => {
    const t = new ConnTable(1, 16);
    const r = new Recorder();
    const s = t.create(6, pair(v4(3, 3, 3, 3), vip), 0, 9, 4, 80, 0, 80, 0, 100);
    r.keep.add(s);
    t.advance(100, r);
    assert.equal(t.count, 1);
    t.advance(1099, r);
    assert.equal(t.count, 1);
    t.advance(1100, r);
    assert.deepEqual(r.expired, [s]);
  });

  it('reuses freed slots', () => {
    const t = new ConnTable(1, 16);
    const s = t.create(6, pair(v4(4, 4, 4, 4), vip), 0, 9, 4, 80, 0, 80, 0, 100);
    t.remove(s);
    assert.equal(t.count, 0);
    assert.equal(t.create(6, pair(v4(4, 4, 4, 5), vip), 0, 9, 4, 80, 0, 80, 0, 100), s);
  });
});
