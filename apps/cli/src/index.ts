export type { CliArgs, CliCommand } from './args.js';
export { CLI_COMMANDS, parseCliArgs } from './args.js';
