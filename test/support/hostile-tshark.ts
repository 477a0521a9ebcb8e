/**
 * tshark's opinion of hostile frames, layer by layer up to the transport: like tsharkChecksumProblems
 * (test/support/tshark.ts: IP / TCP / UDP checksum validation on, malformed packets, error-level
 * expert info), but with every TCP, UDP and SCTP port decoded as plain data. Fuzzed payloads are
 * garbage by design, and whether a random UDP payload on port 53 parses as DNS is the client's
 * business, not the balancer's; every header up to the transport, every length and every checksum
 * is still dissected and checked.
 *
 * The tests then hold uvs to: an input frame tshark finds well-formed gives an output frame tshark
 * finds well-formed (an input that is already broken in a way uvs, like IPVS, does not check -
 * a bad TCP checksum, garbage SCTP chunks - may stay broken; the structural validator covers those).
 */
import { spawnSync } from 'node:child_process';

const DECODE_AS_DATA = ['tcp', 'udp', 'sctp'].flatMap((p) => ['-d', `${p}.port==0-65535,data`]);
const FILTER = [
  ...['ip', 'tcp', 'udp', 'icmp', 'icmpv6'].map((p) => `${p}.checksum.status == "Bad"`),
  '_ws.malformed',
  '_ws.expert.severity == "Error"',
].join(' || ');
const ERROR_SEVERITY = String(0x00800000);

/**
 * Frame number (1-based) -> what tshark finds wrong with it, for every frame of pcapPath it
 * flags. Throws when tshark cannot be run or read the file.
 */
export function tsharkTransportProblems(pcapPath: string): Map<number, string> {
  const args = [
    '-n', '-r', pcapPath,
    ...DECODE_AS_DATA,
    // Every frame on its own: the sampled frames come from unrelated cases whose fragments may share
    // addresses and IP IDs, and tshark would reassemble them into datagrams that never existed. A
    // fragment is then judged on its IP header alone (below); its transport header, if it has one,
    // belongs to a datagram tshark does not see whole.
    '-o', 'ip.defragment:FALSE',
    '-o', 'ipv6.defragment:FALSE',
    '-o', 'ip.check_checksum:TRUE',
    '-o', 'tcp.check_checksum:TRUE',
    '-o', 'udp.check_checksum:TRUE',
    '-Y', FILTER,
    '-T', 'fields', '-E', 'separator=/t', '-E', 'aggregator=^',
    '-e', 'frame.number', '-e', 'frame.protocols', '-e', '_ws.expert.severity', '-e', '_ws.expert.message',
    '-e', 'icmp.checksum.status', '-e', 'icmpv6.checksum.status', '-e', 'ip.checksum.status', '-e', '_ws.malformed',
    '-e', 'ip.flags.mf', '-e', 'ip.frag_offset', '-e', 'ipv6.fraghdr.nxt',
  ];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`tshark could not be run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tshark failed on ${pcapPath} (exit ${r.status}): ${r.stderr.trim()}`);
  const problems = new Map<number, string>();
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const [frame, protocols, severities = '', messages = '', icmpSum = '', icmp6Sum = '', ipSums = '', malformed = '',
      mf = '', fragOffset = '', ip6FragHeader = ''] = line.split('\t');
    const sev = severities.split('^');
    const outerMf = mf.split('^')[0];
    const outerFragment = outerMf === '1' || outerMf === 'True' || Number(fragOffset.split('^')[0] || '0') > 0 || ip6FragHeader !== '';
    if (outerFragment) {
      // Only its outer IP header can be judged alone.
      if (!ipSums.split('^')[0].includes('0')) continue;
    }
    let errors = messages.split('^').filter((_, i) => sev[i] === ERROR_SEVERITY);
    if (/:icmp(v6)?:ipv?6?:/.test(protocols)) {
      // An ICMP error quoting a packet: the quote is cut short, and the TCP/UDP checksum in it is
      // deliberately left as it was (facts 5.5; tshark 4.0 sums a cut quote as if it were whole).
      // What counts is the ICMP checksum, the IP headers and the structure.
      // Checksum status fields print as numbers: 0 bad, 1 good, 2 not checked.
      const bad = [...icmpSum.split('^'), ...icmp6Sum.split('^'), ...ipSums.split('^')].includes('0') || malformed !== '';
      errors = errors.filter((m) => !/^Bad checksum/.test(m));
      if (!bad && errors.length === 0) continue;
    }
    problems.set(Number(frame), `${protocols}: ${errors.length > 0 ? errors.join('; ') : 'bad checksum or malformed'}`);
  }
  return problems;
}
