import assert from 'node:assert/strict';
import { DestTable } from '../src/ipvs/dest-table';
import { createScheduler, schedulerNames } from '../src/sched/registry';
import type { SchedService } from '../src/sched/scheduler';

const svc = (): SchedService => ({ dests: new DestTable(2), list: [], schedFlags: 0, af: 4 });

describe('scheduler registry', () => {
  it('lists the known names, sorted', () => {
    // Every scheduler of Linux 6.x IPVS (ipvs-facts 2, plus twos).
    assert.deepEqual(schedulerNames(), ['dh', 'fo', 'lblc', 'lblcr', 'lc', 'mh', 'nq', 'ovf', 'rr', 'sed', 'sh', 'twos', 'wlc', 'wrr']);
  });

  it('creates each scheduler by name, a fresh instance per service', () => {
    for (const name of schedulerNames()) {
      const a = createScheduler(name, svc());
      const b = createScheduler(name, svc());
      assert.equal(a.name, name);
      assert.notEqual(a, b);
      assert.equal(a.schedule({ srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 }), -1); // empty service
    }
  });

  it('rejects an unknown name with an error naming the known ones', () => {
    assert.throws(() => createScheduler('foo', svc()), {
      message: "unknown scheduler 'foo' (known: dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr)",
    });
    assert.throws(() => createScheduler('WLC', svc()), /unknown scheduler 'WLC'/); // names are exact
  });
});
