/** CliCommand is one of the commands `zabkit` knows. */
export const CLI_COMMANDS = ['ls', 'get', 'set', 'create', 'rm', 'stat', 'watch', 'status', 'shell'] as const;
export type CliCommand = (typeof CLI_COMMANDS)[number];

/** CliArgs is a parsed command line. */
export interface CliArgs {
  command: CliCommand | 'help';
  positionals: string[];
  server: string;
  json: boolean;
}

/** parseCliArgs reads `zabkit <command> [args] [--server host:port] [--json]`; throws TypeError on bad input. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const positionals: string[] = [];
  let server = '127.0.0.1:7181';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--server' || arg === '-s') {
      const value = argv[++i];
      if (value === undefined) throw new TypeError(`${arg} needs a value, as host:port`);
      server = value;
    } else if (arg.startsWith('--server=')) server = arg.slice('--server='.length);
    else if (arg === '--help' || arg === '-h') return { command: 'help', positionals: [], server, json };
    else if (arg.startsWith('-') && arg !== '-') throw new TypeError(`unknown option ${arg}`);
    else positionals.push(arg);
  }
  const [command, ...rest] = positionals;
  if (command === undefined || command === 'help') return { command: 'help', positionals: rest, server, json };
  if (!(CLI_COMMANDS as readonly string[]).includes(command)) {
    throw new TypeError(`unknown command ${JSON.stringify(command)}; one of ${CLI_COMMANDS.join(', ')}`);
  }
  return { command: command as CliCommand, positionals: rest, server, json };
}
