/**
 * The dynamic schedulers' indexes (tournament tree, prefix sums) are only as good as the change
 * notes the engine writes: every place that changes a real server's counts, weight or OVERLOAD flag
 * must call dests.touch(). This runs whole TCP lifecycles through the engine (connections bound,
 * turned active by the handshake, inactive by FIN, ended by RST or expiry; -x/-y thresholds setting
 * and clearing OVERLOAD; weights edited and real servers added and deleted live) with 30 real
 * servers, so each scheduler answers from its index, and checks every decision against the same
 * scheduler walking the list (validated against references in test/sched-<name>.test.ts).
 */
import assert from 'node:assert/strict';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { DEST_OVERLOAD } from '../src/ipvs/dest-table';
import { buildEngine } from '../src/ipvs/engine-builder';
import { addDest, deleteDest, editDest } from '../src/ipvs/engine-control';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { TREE_FROM } from '../src/sched/dest-tournament';
import { foSchedulerTreeFrom } from '../src/sched/fo';
import { lcSchedulerTreeFrom } from '../src/sched/lc';
import { nqSchedulerTreeFrom } from '../src/sched/nq';
import { ovfSchedulerTreeFrom } from '../src/sched/ovf';
import { schedulerNames } from '../src/sched/registry';
import type { SchedPacket, SchedulerFactory } from '../src/sched/scheduler';
import { sedSchedulerTreeFrom } from '../src/sched/sed';
import { DEFAULT_RANDOM_SEED, SeededRandom } from '../src/sched/seeded-random';
import { twosSchedulerTreeFrom } from '../src/sched/twos';
import { wlcSchedulerTreeFrom } from '../src/sched/wlc';
import { ipv4, prng, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcp, udp } from './fixtures/engine/frames';

const VIP = '192.0.2.10';
const SERVERS = 30;
const T0 = 1_700_000_000_000;

const WALKING: Record<string, SchedulerFactory> = {
  lc: lcSchedulerTreeFrom(Infinity),
  wlc: wlcSchedulerTreeFrom(Infinity),
  sed: sedSchedulerTreeFrom(Infinity),
  nq: nqSchedulerTreeFrom(Infinity),
  fo: foSchedulerTreeFrom(Infinity),
  ovf: ovfSchedulerTreeFrom(Infinity),
  twos: twosSchedulerTreeFrom(Infinity),
};

function serverAddr(i: number): string {
  return `10.0.0.${11 + i}`;
}

function director(): string {
  const lines = ['link eth0 mac 02:00:00:00:00:01', 'addr 10.0.0.1/24 dev eth0', 'neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0'];
  for (let i = 0; i < SERVERS + 5; i++) lines.push(`neigh ${serverAddr(i)} lladdr 02:00:00:00:01:${(16 + i).toString(16)} dev eth0`);
  lines.push('route default via 10.0.0.254 dev eth0');
  return lines.join('\n');
}

/**
 * TCP and UDP services on VIP:80 (two services sharing the DestTable and its change log), each
 * with 30 DR real servers, weights 1..5 (two at 0), every third with low -x/-y thresholds (they
 * trip often). UDP matters: a TCP SYN turns its new connection active in the same frame (SYN
 * states count as active), so only UDP shows a bind that no other change follows.
 */
function rules(scheduler: string): string {
  const lines: string[] = [];
  for (const proto of ['-t', '-u']) {
    lines.push(`-A ${proto} ${VIP}:80 -s ${scheduler}`);
    for (let i = 0; i < SERVERS; i++) {
      const weight = i === 4 || i === 17 ? 0 : 1 + (i % 5);
      const thresholds = i % 3 === 0 ? ` -x ${2 + (i % 2)} -y 1` : '';
      lines.push(`-a ${proto} ${VIP}:80 -r ${serverAddr(i)}:80 -g -w ${weight}${thresholds}`);
    }
  }
  return lines.join('\n');
}

describe('dynamic schedulers in the engine: every count change reaches their index', () => {
  for (const name of Object.keys(WALKING)) {
    it(`${name}: 3,000 new TCP and UDP connections through whole lifecycles, each decision equal to the walk's`, () => {
      const loaded = loadRules(rules(name), 'rules', { schedulers: schedulerNames() });
      const built = buildEngine(loaded, loadDirector(director(), 'director'));
      const engine = built.engine;
      const [svc, udpSvc] = engine.services.services;
      let decisions = 0;
      let nones = 0;
      for (const s of [svc, udpSvc]) {
        assert.ok(s.list.length >= TREE_FROM, 'long enough for the index');
        const indexed = s.scheduler;
        // The walking twin draws from its own copy of the service's random stream (twos).
        const walking = WALKING[name]({ dests: s.dests, list: s.list, schedFlags: s.schedFlags, af: s.af,
          random: new SeededRandom(DEFAULT_RANDOM_SEED + s.index) });
        s.scheduler = {
          name,
          schedule(pkt: SchedPacket): number {
            const id = indexed.schedule(pkt);
            assert.equal(id, walking.schedule(pkt), `decision ${decisions} (${s.name})`);
            decisions++;
            if (id < 0) nones++;
            return id;
          },
          update(change, destId, oldIndex): void {
            indexed.update(change, destId, oldIndex);
            walking.update(change, destId, oldIndex);
          },
        };
      }

      const out = new OutputBatch(1 << 16, 16);
      let frameNo = 0;
      let now = 0;
      const send = (src: string, sport: number, flags: number): void => {
        out.reset();
        const frame = ipv4({ src, dst: VIP, l4: tcp({ sport, dport: 80, flags }) });
        engine.processFrame(frame, 0, frame.length, T0 + now, out, frameNo++);
      };
      const sendUdp = (src: string, sport: number): void => {
        out.reset();
        const frame = ipv4({ src, dst: VIP, l4: udp({ sport, dport: 80 }) });
        engine.processFrame(frame, 0, frame.length, T0 + now, out, frameNo++);
      };
      const rand = prng(0x5eed + name.length);
      const pick = (n: number): number => Math.floor(rand() * n);
      /** Open client flows: [client, port, state 0 = SYN sent, 1 = established, 2 = FIN sent]. */
      const flows: [string, number, number][] = [];
      let nextPort = 1024;
      const serverDests = [...svc.list];
      let added = 0;
      const seen = { active: false, inactive: false, overloadSet: 0, overloadCleared: 0 };
      const overloaded = new Set<number>();
      for (let step = 0; decisions < 3000; step++) {
        now += 1 + pick(50);
        const op = pick(100);
        if (op < 15) {
          sendUdp(`203.0.113.${1 + pick(50)}`, nextPort++); // a new UDP flow: bound, inactive
        } else if (op < 40 || flows.length === 0) {
          const client = `203.0.113.${1 + pick(50)}`;
          const port = nextPort++;
          send(client, port, TCP_SYN);
          flows.push([client, port, 0]);
        } else if (op < 90) {
          const k = pick(flows.length);
          const [client, port, state] = flows[k];
          if (state === 0) {
            send(client, port, TCP_ACK); // SYN_RECV -> ESTABLISHED: active
            flows[k][2] = 1;
          } else if (state === 1 && op < 80) {
            send(client, port, TCP_FIN | TCP_ACK); // -> inactive
            flows[k][2] = 2;
          } else if (state === 2 && op < 70) {
            send(client, port, TCP_SYN); // FIN_WAIT -> SYN_RECV: inactive -> active, no bind
            flows[k][2] = 0;
          } else {
            send(client, port, TCP_RST); // -> CLOSE, inactive until it expires
            flows.splice(k, 1);
          }
        } else if (op < 97) {
          now += 5_000 + pick(200_000); // let closing and some waiting connections expire
        } else if (op === 97) {
          // Weight edit (touch + update('edit')).
          const k = pick(SERVERS);
          const dc = { ...loaded.services[0].dests[k], weight: pick(6) };
          const id = serverDests[k];
          if (svc.list.includes(id)) editDest(engine, svc, id, dc);
        } else if (op === 98 && added < 5) {
          // A new real server at the head of the list.
          const base = loaded.services[0].dests[0];
          const ip = serverAddr(SERVERS + added);
          addDest(engine, svc, { ...base, addr: { ...base.addr, text: ip, bytes: Uint8Array.from(ip.split('.').map(Number)) }, weight: 3 });
          added++;
        } else if (op === 99 && svc.list.length > TREE_FROM + 2) {
          deleteDest(engine, svc, svc.list[pick(svc.list.length)]);
        }
        for (const id of [...svc.list, ...udpSvc.list]) {
          if (svc.dests.activeConns[id] > 0) seen.active = true;
          if (svc.dests.inactConns[id] > 0) seen.inactive = true;
          const over = (svc.dests.flags[id] & DEST_OVERLOAD) !== 0;
          if (over && !overloaded.has(id)) {
            seen.overloadSet++;
            overloaded.add(id);
          } else if (!over && overloaded.delete(id)) {
            seen.overloadCleared++;
          }
        }
      }
      assert.ok(nones < decisions / 2, `nones = ${nones}`);
      // The lifecycles did move the counts, and the thresholds did trip and clear.
      assert.ok(seen.active && seen.inactive && seen.overloadSet > 0 && seen.overloadCleared > 0, JSON.stringify(seen));
    });
  }
});
