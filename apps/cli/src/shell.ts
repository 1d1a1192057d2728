import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type ZabClient } from '@zabkit/client';
import { type CliArgs, parseCliArgs, splitLine } from './args.js';
import {
  type CliIo,
  connectOptions,
  exitCodeOf,
  printError,
  runCli,
  runClientCommand,
  UsageError,
} from './commands.js';

/** SHELL_COMMANDS are the words the shell knows (completed on the first word). */
export const SHELL_COMMANDS = [
  'ls',
  'get',
  'set',
  'create',
  'rm',
  'stat',
  'watch',
  'unwatch',
  'getacl',
  'setacl',
  'addauth',
  'digest',
  'status',
  'help',
  'quit',
] as const;

/** HISTORY_LINES_MAX bounds the history kept in the file and in memory. */
export const HISTORY_LINES_MAX = 1_000;

/** SECRET_COMMANDS carry a password: their lines stay out of the history file (the session's own up-arrow history keeps them). */
const SECRET_COMMANDS: ReadonlySet<string> = new Set(['addauth', 'digest']);

/** keepsSecret tells whether a shell line carries credentials, so it is not written to the history file. */
export function keepsSecret(line: string): boolean {
  return SECRET_COMMANDS.has(line.trim().split(/\s+/)[0] ?? '') || /(^|\s)--auth(\s|=|$)/.test(line);
}

/** ChildLister is what path completion needs of a client. */
export interface ChildLister {
  children(path: string): Promise<string[]>;
}

/**
 * completeLine completes the word under the cursor (the end of `line`): a command name for the
 * first word, a znode path (listing the parent's children) for a word starting with `/`.
 * Returns readline's `[candidates, word]`.
 */
export async function completeLine(client: ChildLister, line: string): Promise<[string[], string]> {
  const words = line.split(/\s+/);
  const word = words.at(-1) ?? '';
  if (words.length <= 1) return [SHELL_COMMANDS.filter((command) => command.startsWith(word)), word];
  if (!word.startsWith('/')) return [[], word];
  const slash = word.lastIndexOf('/');
  const parent = slash === 0 ? '/' : word.slice(0, slash);
  const prefix = word.slice(slash + 1);
  try {
    const names = await client.children(parent);
    const base = parent === '/' ? '/' : `${parent}/`;
    return [names.filter((name) => name.startsWith(prefix)).map((name) => `${base}${name}`), word];
  } catch {
    return [[], word];
  }
}

/** loadHistory reads the newest HISTORY_LINES_MAX lines of the history file, newest first (readline's order). */
export function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-HISTORY_LINES_MAX)
      .reverse();
  } catch {
    return [];
  }
}

const SHELL_HELP = `commands: ls, get, set, create, rm, stat, getacl, setacl, digest (as on the command line, same options),
  watch PATH [-r]   print events in the background      unwatch PATH   stop it
  addauth SCHEME CREDENTIALS   authenticate this session (kept across reconnects until quit), e.g. addauth digest alice:secret
  status            the members' table                   quit           leave (^D too)`;

/** ShellOptions: where the shell reads and writes (stdin/stdout by default) and its history file. */
export interface ShellOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  historyFile?: string;
  io?: CliIo;
}

/**
 * runShell is `zabkit shell`: one session for the whole shell (so `create -e` and `addauth` last
 * until quit; --auth authenticates it from the start), line editing with history (kept in
 * ~/.zabkit_history, without the lines that carry credentials) and tab completion of commands and
 * paths. Background watches print their events as they come. Returns the exit code.
 */
export async function runShell(args: CliArgs, options: ShellOptions = {}): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const io: CliIo = options.io ?? {
    out: (text) => output.write(`${text}\n`),
    err: (text) => output.write(`${text}\n`),
  };
  const historyFile = options.historyFile ?? join(homedir(), '.zabkit_history');
  let client: ZabClient;
  try {
    client = await connect(args.server, { ...connectOptions(args), sessionTimeoutMs: 30_000 });
  } catch (error) {
    printError(error, io, false);
    return 1;
  }
  client.on('disconnected', ({ server, reason }) => io.err(`[disconnected from ${server}: ${reason}; reconnecting]`));
  client.on('reconnected', ({ server }) => io.err(`[reconnected to ${server}]`));
  client.on('expired', ({ reason }) => io.err(`[session expired: ${reason}]`));
  client.on('authFailed', ({ scheme, server }) =>
    io.err(`[${server} refused the ${scheme} credentials on reconnect; continuing without them]`),
  );
  const watches = new Map<string, AbortController>();
  const terminal = (output as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({
    input,
    output,
    terminal,
    history: loadHistory(historyFile),
    historySize: HISTORY_LINES_MAX,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      completeLine(client, line).then((result) => callback(null, result));
    },
  });
  const prompt = () => {
    rl.setPrompt(`zabkit ${client.server ?? '(disconnected)'}> `);
    rl.prompt();
  };
  io.err(`connected to ${client.server}, session ${client.sessionId.toString(16)}; type help`);
  prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (trimmed !== '' && !keepsSecret(trimmed)) {
      try {
        appendFileSync(historyFile, `${trimmed}\n`);
      } catch {
        // A read-only home is no reason to stop the shell.
      }
    }
    let words: string[];
    try {
      words = splitLine(trimmed);
    } catch (error) {
      printError(error, io, false);
      prompt();
      continue;
    }
    const [command] = words;
    if (command === undefined) {
      prompt();
      continue;
    }
    if (command === 'quit' || command === 'exit') break;
    try {
      const parsed = command === 'unwatch' ? undefined : parseCliArgs(words);
      if (command === 'help' || parsed?.command === 'help') io.out(SHELL_HELP);
      else if (command === 'unwatch') {
        const path = words[1];
        const controller = path === undefined ? undefined : watches.get(path);
        if (controller === undefined) throw new UsageError(`no watch on ${path ?? '(missing PATH)'}`);
        controller.abort();
        watches.delete(path!);
      } else if (parsed!.command === 'status') {
        await runCli(
          { ...parsed!, server: args.server, admin: parsed!.admin.length > 0 ? parsed!.admin : args.admin },
          io,
        );
      } else if (parsed!.command === 'shell') throw new UsageError('already in the shell');
      else if (parsed!.auth.length > 0)
        throw new UsageError('--auth applies when the shell starts; in the shell use addauth SCHEME CREDENTIALS');
      else if (parsed!.command === 'watch') {
        const path = parsed!.positionals[0];
        if (path === undefined) throw new UsageError('missing PATH');
        watches.get(path)?.abort();
        const controller = new AbortController();
        watches.set(path, controller);
        runClientCommand('watch', parsed!.positionals, {
          client,
          io,
          json: parsed!.json,
          flags: parsed!.flags,
          signal: controller.signal,
        }).catch((error: unknown) => printError(error, io, false));
      } else {
        await runClientCommand(parsed!.command, parsed!.positionals, {
          client,
          io,
          json: parsed!.json,
          flags: parsed!.flags,
        });
      }
    } catch (error) {
      printError(error, io, false);
      if (exitCodeOf(error) === 2) io.err('type help for the commands');
    }
    prompt();
  }
  rl.close();
  for (const controller of watches.values()) controller.abort();
  await client.close();
  return 0;
}
