export type { CliArgs, CliCommand, CommandFlags } from './args.js';
export { CLI_COMMANDS, parseCliArgs, SERVER_DEFAULT, splitLine, USAGE } from './args.js';
export type { CliIo, CommandContext } from './commands.js';
export { runCli, runClientCommand, UsageError } from './commands.js';
export { dataHuman, dataJson, hex, statHuman, table } from './format.js';
export type { ChildLister, ShellOptions } from './shell.js';
export { completeLine, HISTORY_LINES_MAX, loadHistory, runShell, SHELL_COMMANDS } from './shell.js';
export type { MemberStatusRow } from './status.js';
export { ADMIN_PORT_OFFSET, adminEndpoints, memberStatuses, statusTable } from './status.js';
