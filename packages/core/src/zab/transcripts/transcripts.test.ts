// etcd raft's interaction tests for zabkit's Zab: each testdata/*.txt is a script of commands, each
// with the output it must give, exactly. `REWRITE=1 pnpm test` regenerates the outputs (read the
// diff before committing it: a changed line is changed behaviour).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatTranscript, parseTranscript } from './datadriven.js';
import { runTranscript } from './run-transcript.js';

const directory = new URL('./testdata/', import.meta.url);
const files = readdirSync(directory)
  .filter((name) => name.endsWith('.txt'))
  .sort();

describe('Zab transcripts (testdata/*.txt)', () => {
  it.each(files)('%s', (name) => {
    const file = new URL(name, directory);
    const text = readFileSync(file, 'utf8');
    const results = runTranscript(text);
    if (process.env.REWRITE) {
      writeFileSync(
        file,
        formatTranscript(
          parseTranscript(text),
          results.map((result) => result.actual),
        ),
      );
      return;
    }
    for (const result of results) {
      expect(result.actual, `${name}:${result.lineNumber}: ${result.command}`).toBe(result.expected);
    }
  });
});

describe('the transcript runner', () => {
  it('round-trips a file through parse and format', () => {
    for (const name of files) {
      const text = readFileSync(new URL(name, directory), 'utf8');
      expect(formatTranscript(parseTranscript(text))).toBe(text);
    }
  });

  it('catches one changed line of expected output', () => {
    const text = readFileSync(new URL(files[0] as string, directory), 'utf8');
    const results = runTranscript(text);
    const target = results.findIndex((result) => result.expected.includes('->'));
    expect(target).toBeGreaterThanOrEqual(0);
    const items = parseTranscript(text);
    const outputs = results.map((result, index) =>
      index === target ? result.expected.replace('->', '->9') : result.expected,
    );
    const changed = runTranscript(formatTranscript(items, outputs));
    expect(changed.filter((result) => result.actual !== result.expected).map((result) => result.lineNumber)).toEqual([
      (results[target] as (typeof results)[number]).lineNumber,
    ]);
  });
});
