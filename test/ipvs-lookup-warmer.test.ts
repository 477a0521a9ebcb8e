/**
 * LookupWarmer only loads memory: it must never throw on any bytes, never change the engine's
 * state, and touch exactly the lookups the engine will make (so a batch it warmed is processed
 * exactly as one it did not).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LookupWarmer } from '../src/ipvs/lookup-warmer';
import { EngineHarness, frame, SYN } from './support/frames';

const RULES = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1\n-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g -w 1\n' +
  '-A -t [2001:db8::10]:80 -s rr\n-a -t [2001:db8::10]:80 -r [2001:db8:1::11]:80 -g -w 1\n';
const DIRECTOR = 'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\naddr 2001:db8:1::1/64 dev eth0\n' +
  'neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0\nneigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0\n' +
  'neigh 2001:db8:1::11 lladdr 02:00:00:00:01:21 dev eth0\n';

function flows(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(frame({ src: `198.51.${(i >> 8) & 255}.${i & 255}`, dst: '192.0.2.10', sport: 1024 + i, dport: 80, flags: SYN }));
    out.push(frame({ src: `2001:db8:9::${(i + 1).toString(16)}`, dst: '2001:db8::10', sport: 1024 + i, dport: 80, flags: SYN }));
  }
  return out;
}

describe('LookupWarmer', () => {
  it('never throws and changes nothing, whatever the bytes (truncated headers, garbage, any length)', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    for (const f of flows(50)) h.send(f, 1);
    const before = JSON.stringify(h.summary());
    const engine = h.built.engine;
    const warmer = new LookupWarmer(engine.conns4, engine.conns6);
    const one = (buf: Uint8Array, at: number, len: number): void => warmer.warmBatch(buf, Int32Array.of(at), Int32Array.of(len), 1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(220), (bytes, cut) => {
        one(bytes, 0, Math.min(cut, bytes.length));
        // A frame claiming more bytes than its buffer holds reads past it harmlessly.
        one(bytes, 0, cut);
      }),
      { numRuns: 5000 },
    );
    for (const f of flows(50)) for (let len = 0; len <= f.length; len++) one(f, 0, len);
    // The batch form over a ring-like buffer, offsets past its end included.
    const ring = new Uint8Array(4096);
    const all = flows(20);
    const off = new Int32Array(all.length + 2);
    const len = new Int32Array(all.length + 2);
    let at = 0;
    all.forEach((f, i) => {
      ring.set(f, at);
      off[i] = at;
      len[i] = f.length;
      at += f.length;
    });
    off[all.length] = ring.length - 10;
    len[all.length] = 60;
    off[all.length + 1] = ring.length + 100;
    len[all.length + 1] = 0;
    warmer.warmBatch(ring, off, len, off.length);
    assert.equal(JSON.stringify(h.summary()), before);
    assert.equal(engine.conns4.count + engine.conns6.count, 100);
  });

  it('a warmed run forwards exactly what an unwarmed run forwards', () => {
    const plain = new EngineHarness(RULES, DIRECTOR);
    const warmed = new EngineHarness(RULES, DIRECTOR);
    const warmer = new LookupWarmer(warmed.built.engine.conns4, warmed.built.engine.conns6);
    const batch = flows(300);
    const ring = new Uint8Array(batch.reduce((n, f) => n + f.length, 0));
    const off = new Int32Array(batch.length);
    const len = new Int32Array(batch.length);
    for (let round = 0; round < 3; round++) {
      let at = 0;
      batch.forEach((f, i) => {
        ring.set(f, at);
        off[i] = at;
        len[i] = f.length;
        at += f.length;
      });
      if (round !== 0) warmer.warmBatch(ring, off, len, batch.length);
      for (const f of batch) {
        assert.deepEqual(warmed.send(f, round), plain.send(f, round));
      }
    }
    assert.deepEqual(warmed.summary(), plain.summary());
  });
});
