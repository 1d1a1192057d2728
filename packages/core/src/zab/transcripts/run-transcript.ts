import { parseTranscript } from './datadriven.js';
import { TranscriptWorld } from './world.js';

/** CommandResult is one command of a transcript with the output it expected and the output it gave. */
export interface CommandResult {
  command: string;
  lineNumber: number;
  expected: string;
  actual: string;
}

/** runTranscript runs every command of a transcript, in order, in one fresh world. */
export function runTranscript(text: string): CommandResult[] {
  const world = new TranscriptWorld();
  const results: CommandResult[] = [];
  for (const item of parseTranscript(text)) {
    if (item.kind !== 'command') continue;
    results.push({
      command: item.command,
      lineNumber: item.lineNumber,
      expected: item.expected,
      actual: world.run(item.command),
    });
  }
  return results;
}
