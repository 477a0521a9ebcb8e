/**
 * Replays the cases of test/fixtures/sched/{sh,dh,mh}.json - written by scripts/sched_reference.py,
 * an independent Python model of ipvs-schedulers.md - on our schedulers: the same adds, edits,
 * deletes and OVERLOAD changes, then at every 'check' step the whole table and the decisions for
 * every packet of the named packet sets must match the reference, character for character.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseIp } from '../src/control/ip-address';
import type { SchedPacket, SchedService, Scheduler, SchedulerFactory } from '../src/sched/scheduler';
import { foldAddress } from '../src/wire/fold';
import { SchedFixture } from './sched-fixture';

export interface PacketSet {
  src: string[] | null;
  dst: string[] | null;
  sport: number[];
  proto: number[];
}

export interface DestSetup {
  offset: number;
  skip: number;
  turns: number;
}

export type CaseStep =
  | { op: 'add'; name: string; addr: string; port: number; weight: number }
  | { op: 'edit'; name: string; weight: number }
  | { op: 'delete'; name: string }
  | { op: 'overload'; name: string; on: boolean }
  | {
      op: 'check';
      note?: string;
      /** One character per bucket/slot: the dest name, '-' when empty. */
      table: string;
      /** Per packet set, one character per packet: the chosen dest, '-' for none. */
      expect: Record<string, string>;
      /** mh only. */
      gcd?: number;
      rshift?: number;
      setup?: Record<string, DestSetup>;
    };

export interface HashCase {
  name: string;
  why: string;
  af: number;
  flags: number;
  steps: CaseStep[];
}

export interface HashFixture {
  packets: Record<string, PacketSet>;
  cases: HashCase[];
}

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/sched');

export function loadHashFixture(file: string): HashFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as HashFixture;
}

/** A scheduler that exposes its table of dest ids (-1 = empty), as sh, dh and mh do. */
export interface TableScheduler extends Scheduler {
  readonly table: Int32Array;
}

function hasTable(s: Scheduler): s is TableScheduler {
  return (s as Partial<TableScheduler>).table instanceof Int32Array;
}

/** The addresses of a packet set folded in family `af`, the way the engine fills SchedPacket. */
function foldAll(addrs: string[] | null, count: number, af: number): Uint32Array {
  const out = new Uint32Array(count);
  if (addrs !== null) for (let i = 0; i < count; i++) out[i] = foldAddress(parseIp(addrs[i]).bytes, 0, af);
  return out;
}

/**
 * Replays `c` on a fresh scheduler made by `factory` (given the case's flags and family).
 * `onCheck` runs after each check step has passed, for extra assertions (mh's setup).
 */
export function replayCase(
  fixture: HashFixture,
  c: HashCase,
  factory: SchedulerFactory,
  onCheck?: (f: SchedFixture, step: Extract<CaseStep, { op: 'check' }>) => void,
): void {
  const f = new SchedFixture((svc: SchedService) => factory({ ...svc, schedFlags: c.flags, af: c.af }));
  const sched = f.sched;
  assert.ok(hasTable(sched), 'the scheduler exposes its table');
  const nameOf = new Map<number, string>();
  const keys = new Map<string, { src: Uint32Array; dst: Uint32Array; set: PacketSet }>();
  for (const [name, set] of Object.entries(fixture.packets)) {
    const n = set.sport.length;
    keys.set(name, { src: foldAll(set.src, n, c.af), dst: foldAll(set.dst, n, c.af), set });
  }
  c.steps.forEach((step, index) => {
    const where = `${c.name}, step ${index}${step.op === 'check' && step.note ? ` (${step.note})` : ''}`;
    switch (step.op) {
      case 'add':
        f.add(step.name, step.weight, { addr: step.addr, port: step.port });
        nameOf.set(f.id(step.name), step.name);
        break;
      case 'edit':
        f.edit(step.name, step.weight);
        break;
      case 'delete':
        f.del(step.name);
        break;
      case 'overload':
        f.overload(step.name, step.on);
        break;
      case 'check': {
        const table = Array.from(sched.table, (id) => (id < 0 ? '-' : (nameOf.get(id) ?? '?'))).join('');
        assertSameText(table, step.table, `${where}: table`);
        for (const [setName, want] of Object.entries(step.expect)) {
          const k = keys.get(setName);
          if (k === undefined) throw new Error(`${where}: no packet set ${setName}`);
          const pkt: SchedPacket = f.pkt;
          let got = '';
          for (let i = 0; i < want.length; i++) {
            pkt.srcKey = k.src[i];
            pkt.dstKey = k.dst[i];
            pkt.sport = k.set.sport[i];
            pkt.proto = k.set.proto[i];
            const id = sched.schedule(pkt);
            got += id < 0 ? '-' : (nameOf.get(id) ?? '?');
          }
          assertSameText(got, want, `${where}: decisions for ${setName}`, (i) =>
            `src ${k.set.src?.[i]} dst ${k.set.dst?.[i]} sport ${k.set.sport[i]} proto ${k.set.proto[i]}`);
        }
        onCheck?.(f, step);
        break;
      }
    }
  });
}

/** Compares two one-character-per-item strings, naming the first difference rather than dumping both. */
function assertSameText(got: string, want: string, what: string, describe?: (i: number) => string): void {
  if (got === want) return;
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  const detail = describe !== undefined && i < want.length ? ` [${describe(i)}]` : '';
  assert.fail(`${what}: first difference at ${i}: got '${got[i] ?? '(end)'}', want '${want[i] ?? '(end)'}'${detail}` +
    ` (lengths ${got.length}/${want.length})`);
}
