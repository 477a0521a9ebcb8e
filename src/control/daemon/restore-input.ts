/**
 * The lines of an `ipvsadm -R` input, split as ipvsadm 1.31's config_stream_read splits them:
 * tokens separated by spaces, tabs and carriage returns, every token that is exactly `ipvsadm`
 * dropped, lines left with no token skipped. `#` is not a comment (ipvsadm's comment handling
 * never triggers): such a line goes to the option parser, which refuses it.
 */

export interface RestoreLine {
  /** 1-based line number in the input. */
  line: number;
  argv: string[];
}

export function restoreLines(input: string): RestoreLine[] {
  const out: RestoreLine[] = [];
  input.split('\n').forEach((text, i) => {
    const argv = text.split(/[ \t\r]+/).filter((t) => t !== '' && t !== 'ipvsadm');
    if (argv.length > 0) out.push({ line: i + 1, argv });
  });
  return out;
}
