/**
 * The Prometheus text exposition format (version 0.0.4), written the way Go's client_golang
 * writes it, so that a page of ours reads exactly like one of node_exporter's:
 *
 * - families sorted by name, each as `# HELP name text`, `# TYPE name type`, then its samples;
 * - within a sample, labels sorted by name (client_golang sorts the label pairs of every metric),
 *   and samples sorted by their label values in that order;
 * - values printed as Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read
 *   back exactly, with an exponent from 1e+06 up (1234567 is `1.234567e+06`);
 * - HELP text escapes `\` and newline; label values escape `\`, newline and `"`.
 *
 * Nothing here knows about IPVS: metrics.ts builds the families.
 */

export type MetricType = 'counter' | 'gauge' | 'untyped';

/** Label name -> value. */
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** The Content-Type of a text exposition page. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A sample value as Go's FormatFloat(v, 'g', -1, 64) prints it (client_golang's writeFloat). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // toExponential() without an argument gives the shortest digits that identify the value,
  // the same digits Go's shortest formatting finds.
  const [mantissa, expText] = v.toExponential().split('e');
  const exp = Number(expText);
  // Go's %g with the shortest precision switches to an exponent below 1e-4 and from 1e+06 on.
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  // In that range JavaScript's own shortest decimal form is Go's (no exponent, no trailing zeros).
  return String(v);
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Label names of a sample, sorted (as client_golang sorts label pairs). */
function sortedNames(labels: Labels): string[] {
  return Object.keys(labels).sort(compareStrings);
}

function compareSamples(a: Sample, b: Sample): number {
  const an = sortedNames(a.labels);
  const bn = sortedNames(b.labels);
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(a.labels[an[i]] ?? '', b.labels[bn[i]] ?? '');
    if (c !== 0) return c;
  }
  return an.length - bn.length;
}

function formatLabels(labels: Labels): string {
  const names = sortedNames(labels);
  if (names.length === 0) return '';
  return `{${names.map((n) => `${n}="${escapeLabelValue(labels[n])}"`).join(',')}}`;
}

/** Throws on a name the format does not allow (a bug of ours, not the user's). */
function checkFamily(f: MetricFamily): void {
  if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
  for (const s of f.samples) {
    for (const n of Object.keys(s.labels)) {
      if (!LABEL_NAME.test(n) || n.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(n)} in ${f.name}`);
    }
  }
}

/** The page: every family with at least one sample, in client_golang's order. */
export function formatExposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  const sorted = [...families].sort((a, b) => compareStrings(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].name === sorted[i - 1].name) throw new Error(`metric family ${sorted[i].name} given twice`);
  }
  for (const f of sorted) {
    checkFamily(f);
    if (f.samples.length === 0) continue; // client_golang drops families without metrics
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of [...f.samples].sort(compareSamples)) {
      out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * Adds `value` to the sample with exactly these label values, or appends one: how node_exporter's
 * ipvs collector sums backends whose (possibly reduced) labels coincide.
 */
export class SampleSums {
  private readonly byKey = new Map<string, Sample>();

  add(labels: Labels, value: number): void {
    const key = JSON.stringify(sortedNames(labels).map((n) => [n, labels[n]]));
    const s = this.byKey.get(key);
    if (s === undefined) this.byKey.set(key, { labels, value });
    else s.value += value;
  }

  samples(): Sample[] {
    return [...this.byKey.values()];
  }
}
