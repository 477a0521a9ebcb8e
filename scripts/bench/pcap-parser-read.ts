/**
 * The bench's pure-JavaScript reader baseline: reads a pcap with the npm package pcap-parser and
 * counts its packets, nothing else. Prints {"packets": N} on stdout.
 *
 * Usage: node dist/scripts/bench/pcap-parser-read.js FILE.pcap
 */
import * as pcapParser from 'pcap-parser';

function main(): void {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: pcap-parser-read FILE.pcap');
    process.exit(2);
  }
  let packets = 0;
  const parser = pcapParser.parse(file);
  parser.on('packet', () => {
    packets++;
  });
  parser.on('error', (err) => {
    console.error(`pcap-parser: ${file}: ${err.message}`);
    process.exitCode = 1;
  });
  parser.on('end', () => {
    process.stdout.write(JSON.stringify({ packets }) + '\n');
  });
}

main();
