/**
 * Reads the summary that `uvs replay --summary-json FILE` writes, to check a bench run: packets in,
 * packets out, drops. The shape (src/ipvs/summary.ts, EngineSummary) is
 *   { "in": N, "out": N, "dropped": { "<reason>": N, ... }, "droppedTotal": N, ... }
 * A few other spellings are accepted, so that a renamed field gives a clear warning naming what is
 * missing rather than a silent pass.
 */
import * as fs from 'node:fs';

export interface UvsSummary {
  packetsIn: number;
  packetsOut: number;
  drops: number;
  /** Drop counts by reason, when the summary gives them. */
  dropReasons: Record<string, number>;
}

const IN_NAMES = ['in', 'packetsIn', 'framesIn', 'input', 'received', 'rx'];
const OUT_NAMES = ['out', 'packetsOut', 'framesOut', 'output', 'transmitted', 'sent', 'tx'];
/** Names of the drop total (a number) or of the drops by reason (an object). */
const DROP_TOTAL_NAMES = ['droppedTotal', 'dropsTotal', 'dropped', 'drops', 'packetsDropped', 'framesDropped'];
const DROP_REASON_NAMES = ['dropped', 'drops'];
/** Objects that may hold the counters instead of the top level. */
const NEST_NAMES = ['packets', 'frames', 'counters', 'totals', 'summary'];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pickNumber(obj: Json, names: readonly string[]): number | null {
  for (const name of names) if (typeof obj[name] === 'number') return obj[name] as number;
  return null;
}

function pickDrops(obj: Json): { total: number; reasons: Record<string, number> } | null {
  const reasons: Record<string, number> = {};
  let reasonSum: number | null = null;
  for (const name of DROP_REASON_NAMES) {
    const v = obj[name];
    if (!isObject(v)) continue;
    reasonSum = 0;
    for (const [reason, count] of Object.entries(v)) {
      if (typeof count !== 'number' || reason === 'total') continue;
      reasons[reason] = count;
      reasonSum += count;
    }
    break;
  }
  const total = pickNumber(obj, DROP_TOTAL_NAMES) ?? reasonSum;
  return total === null ? null : { total, reasons };
}

/** The summary, or a sentence saying what is missing. */
export function readUvsSummary(file: string): UvsSummary | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return `summary ${file} unreadable: ${(err as Error).message}`;
  }
  if (!isObject(parsed)) return `summary ${file} is not a JSON object`;
  const scopes: Json[] = [parsed, ...NEST_NAMES.map((n) => parsed[n]).filter(isObject)];
  let packetsIn: number | null = null;
  let packetsOut: number | null = null;
  let drops: { total: number; reasons: Record<string, number> } | null = null;
  for (const scope of scopes) {
    packetsIn ??= pickNumber(scope, IN_NAMES);
    packetsOut ??= pickNumber(scope, OUT_NAMES);
    drops ??= pickDrops(scope);
  }
  const missing = [
    packetsIn === null ? 'packetsIn' : '',
    packetsOut === null ? 'packetsOut' : '',
    drops === null ? 'drops' : '',
  ].filter((s) => s !== '');
  if (packetsIn === null || packetsOut === null || drops === null) {
    return `summary ${file} lacks ${missing.join(', ')} (keys: ${Object.keys(parsed).join(', ')})`;
  }
  return { packetsIn, packetsOut, drops: drops.total, dropReasons: drops.reasons };
}
