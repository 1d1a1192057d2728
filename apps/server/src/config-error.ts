/** ConfigError is a configuration problem: the server exits with code 2 and this one message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
}
