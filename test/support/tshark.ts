/**
 * A second opinion on pcaps from Wireshark's dissectors: which frames carry a bad IP / TCP / UDP / ICMP
 * checksum or are malformed. Used to check that golden expected outputs (and the engine's outputs) are
 * well-formed packets, independently of our own checksum code.
 */
import { spawnSync } from 'node:child_process';

/**
 * Wireshark's checksum status values are Bad = 0, Good = 1, Unverified = 2, Not present = 3 (checked on
 * tshark 4.0). The filter compares with the value's name so that it cannot silently pick the wrong number.
 */
const CHECKSUM_FIELDS = ['ip', 'tcp', 'udp', 'icmp', 'icmpv6'].map((p) => `${p}.checksum.status`);
const DISPLAY_FILTER = [
  ...CHECKSUM_FIELDS.map((f) => `${f} == "Bad"`),
  '_ws.malformed',
  '_ws.expert.severity == "Error"',
].join(' || ');
const BAD = '0';
const ERROR_SEVERITY = String(0x00800000); // PI_ERROR
/** Joins the several values of one field in a frame (e.g. outer and inner IP checksum of an IPIP packet). */
const AGGREGATOR = '^';

let available: boolean | undefined;

/** True when a working tshark is on PATH (cached). */
export function tsharkAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    available = r.status === 0;
  }
  return available;
}

/**
 * One line per frame of `pcapPath` that tshark, with IP/TCP/UDP checksum validation on, finds a bad checksum
 * in or marks malformed (or reports any error-level expert info for, such as an IP length beyond the frame),
 * e.g. `frame 3: bad tcp checksum; Bad checksum [should be 0x81b1]`. Empty when every frame is well-formed.
 * Throws when tshark is missing or cannot read the file.
 */
export function tsharkChecksumProblems(pcapPath: string): string[] {
  const args = [
    '-n',
    '-r', pcapPath,
    '-o', 'ip.check_checksum:TRUE',
    '-o', 'tcp.check_checksum:TRUE',
    '-o', 'udp.check_checksum:TRUE',
    '-Y', DISPLAY_FILTER,
    '-T', 'fields',
    '-E', 'separator=/t',
    '-E', `aggregator=${AGGREGATOR}`,
    '-e', 'frame.number',
    ...CHECKSUM_FIELDS.flatMap((f) => ['-e', f]),
    '-e', '_ws.malformed',
    '-e', '_ws.expert.severity',
    '-e', '_ws.expert.message',
    '-e', 'icmp.type',
    '-e', 'icmpv6.type',
  ];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`tshark could not be run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tshark failed on ${pcapPath} (exit ${r.status}): ${r.stderr.trim()}`);
  const problems: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const cols = line.split('\t');
    const frame = cols[0];
    const what: string[] = [];
    const base = 1 + CHECKSUM_FIELDS.length;
    // In an ICMP error, TCP and UDP can only be the quoted packet's: its transport checksum is not
    // for the sender to fix (the quote is cut short, and IPVS deliberately leaves it stale when it
    // translates the quote), so it is not judged. tshark 4.0 sums a cut quote as if it were whole.
    const quoting = (cols[base + 3] ?? '') !== '' || (cols[base + 4] ?? '') !== '';
    let quotedOnly = quoting;
    CHECKSUM_FIELDS.forEach((f, i) => {
      const statuses = (cols[1 + i] ?? '').split(AGGREGATOR);
      const proto = f.split('.')[0];
      if (!statuses.includes(BAD)) return;
      if (quoting && (proto === 'tcp' || proto === 'udp')) return;
      quotedOnly = false;
      what.push(`bad ${proto} checksum`);
    });
    if ((cols[base] ?? '') !== '') what.push('malformed');
    const severities = (cols[base + 1] ?? '').split(AGGREGATOR);
    const messages = (cols[base + 2] ?? '').split(AGGREGATOR);
    severities.forEach((s, i) => {
      if (s !== ERROR_SEVERITY || !messages[i] || what.includes(messages[i])) return;
      // The expert message of a quoted checksum that was not judged above.
      if (quotedOnly && messages[i].startsWith('Bad checksum')) return;
      what.push(messages[i]);
    });
    if (what.length === 0 && quotedOnly) continue;
    if (what.length === 0) what.push('malformed');
    problems.push(`frame ${frame}: ${what.join('; ')}`);
  }
  return problems;
}
