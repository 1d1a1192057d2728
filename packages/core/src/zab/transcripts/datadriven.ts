/**
 * The file format of core's Zab transcripts, after cockroachdb/datadriven as etcd raft's
 * `testdata/*.txt` use it: a command on one line, a `----` line, then the expected output up to the
 * next blank line. Lines starting with `#` and blank lines between blocks are kept as written.
 * Output never contains a blank line (an empty output is written `ok`), so a block needs no
 * terminator and a file round-trips exactly through {@link parseTranscript} and {@link formatTranscript}.
 */

/** TranscriptItem is a run of comment or blank lines, or one command with its expected output. */
export type TranscriptItem =
  | { kind: 'text'; line: string }
  | { kind: 'command'; command: string; lineNumber: number; expected: string };

/** TranscriptSyntaxError: a file that is not in the format (a command without its `----` line). */
export class TranscriptSyntaxError extends Error {
  override readonly name = 'TranscriptSyntaxError';
}

/** parseTranscript splits a transcript into its items; line numbers start at 1. */
export function parseTranscript(text: string): TranscriptItem[] {
  const lines = text.split('\n');
  const items: TranscriptItem[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      items.push({ kind: 'text', line });
      index++;
      continue;
    }
    if (lines[index + 1] !== '----') {
      throw new TranscriptSyntaxError(`line ${index + 1}: "${line}" is not followed by a ---- line`);
    }
    const output: string[] = [];
    let cursor = index + 2;
    while (cursor < lines.length && (lines[cursor] as string).trim() !== '') output.push(lines[cursor++] as string);
    items.push({ kind: 'command', command: line, lineNumber: index + 1, expected: output.join('\n') });
    index = cursor;
  }
  return items;
}

/** formatTranscript writes items back, each command with the output given for it (its expected one by default). */
export function formatTranscript(items: readonly TranscriptItem[], outputs?: readonly string[]): string {
  const lines: string[] = [];
  let commandIndex = 0;
  for (const item of items) {
    if (item.kind === 'text') {
      lines.push(item.line);
      continue;
    }
    const output = outputs?.[commandIndex] ?? item.expected;
    commandIndex++;
    lines.push(item.command, '----');
    if (output !== '') lines.push(output);
  }
  return lines.join('\n');
}
