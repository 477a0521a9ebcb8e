/**
 * A strict reader of the Prometheus text exposition format 0.0.4 for the metrics tests: it
 * refuses anything a Prometheus server would refuse or that client_golang never writes (a line
 * without its newline, a sample before its family's TYPE, a family split in two, HELP or TYPE
 * twice, a duplicate series or label, a bad escape, name or value, a comment of another kind).
 */

export interface ParsedSample {
  labels: Record<string, string>;
  value: number;
  /** The value as written. */
  text: string;
  /** Label names in the order written. */
  labelOrder: string[];
}

export interface ParsedFamily {
  name: string;
  help: string | null;
  type: string | null;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export class ExpositionError extends Error {}

function unescape(text: string, quotes: boolean, where: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === '\\') out += '\\';
    else if (n === 'n') out += '\n';
    else if (n === '"' && quotes) out += '"';
    else throw new ExpositionError(`${where}: bad escape \\${n ?? ''}`);
  }
  return out;
}

/** Parses a page; throws ExpositionError naming the line. */
export function parseExposition(page: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  if (page === '') return families;
  if (!page.endsWith('\n')) throw new ExpositionError('the page does not end with a newline');
  const lines = page.slice(0, -1).split('\n');
  let current: string | null = null;
  const closed = new Set<string>();
  const series = new Set<string>();
  const family = (name: string, where: string): ParsedFamily => {
    if (current !== name) {
      if (closed.has(name)) throw new ExpositionError(`${where}: family ${name} is not contiguous`);
      if (current !== null) closed.add(current);
      current = name;
    }
    let f = families.get(name);
    if (f === undefined) {
      f = { name, help: null, type: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(line);
      if (m === null) throw new ExpositionError(`${where}: a comment that is neither HELP nor TYPE: ${line}`);
      const [, kind, name, rest] = m;
      if (NAME.exec(name)?.[0] !== name) throw new ExpositionError(`${where}: bad metric name ${name}`);
      const f = family(name, where);
      if (kind === 'HELP') {
        if (f.help !== null) throw new ExpositionError(`${where}: second HELP for ${name}`);
        f.help = unescape(rest, false, where);
      } else {
        if (f.type !== null) throw new ExpositionError(`${where}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new ExpositionError(`${where}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest)) throw new ExpositionError(`${where}: unknown type ${rest}`);
        f.type = rest;
      }
      return;
    }
    if (line.trim() === '') throw new ExpositionError(`${where}: empty line`);
    const nm = NAME.exec(line);
    if (nm === null) throw new ExpositionError(`${where}: no metric name: ${line}`);
    const name = nm[0];
    let at = name.length;
    const labels: Record<string, string> = {};
    const labelOrder: string[] = [];
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const ln = LABEL_NAME.exec(line.slice(at));
        if (ln === null) throw new ExpositionError(`${where}: bad label name at column ${at + 1}`);
        at += ln[0].length;
        if (line[at] !== '=' || line[at + 1] !== '"') throw new ExpositionError(`${where}: expected ="value" after ${ln[0]}`);
        at += 2;
        let raw = '';
        while (at < line.length && line[at] !== '"') {
          if (line[at] === '\\') raw += line[at++];
          raw += line[at++];
        }
        if (at >= line.length) throw new ExpositionError(`${where}: unterminated label value`);
        at++;
        if (Object.prototype.hasOwnProperty.call(labels, ln[0])) throw new ExpositionError(`${where}: label ${ln[0]} twice`);
        labels[ln[0]] = unescape(raw, true, where);
        labelOrder.push(ln[0]);
        if (line[at] === ',') at++;
        else if (line[at] !== '}') throw new ExpositionError(`${where}: expected , or } at column ${at + 1}`);
      }
      at++;
    }
    if (line[at] !== ' ') throw new ExpositionError(`${where}: expected one space before the value`);
    const parts = line.slice(at + 1).split(' ');
    if (parts.length > 2 || !VALUE.test(parts[0])) throw new ExpositionError(`${where}: bad value: ${line.slice(at + 1)}`);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new ExpositionError(`${where}: bad timestamp ${parts[1]}`);
    const f = family(name, where);
    if (f.type === null) throw new ExpositionError(`${where}: sample of ${name} before its TYPE`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new ExpositionError(`${where}: series given twice: ${line}`);
    series.add(key);
    const v = parts[0];
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    f.samples.push({ labels, value, text: v, labelOrder });
  });
  return families;
}

/** The one sample of `name` whose labels include `match`; throws when there is not exactly one. */
export function sampleOf(families: Map<string, ParsedFamily>, name: string, match: Record<string, string> = {}): ParsedSample {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no family ${name}`);
  const hits = f.samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(match)}`);
  return hits[0];
}
