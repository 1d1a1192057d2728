import { reloadAdminTls, startAdmin } from './admin.js';
import { ConfigError, loadConfig } from './config.js';
import { unknownEnvVariables } from './env-config.js';
import { createLogger } from './logger.js';
import { Member } from './member.js';

/**
 * runStart runs one member until SIGTERM or SIGINT: bad configuration exits 2 with one message; a
 * port in use or a corrupt data directory exits 1; a storage failure while running exits 1.
 */
export async function runStart(args: readonly string[]): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`zabkit-server: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    throw error;
  }
  const logger = createLogger(config.id, config.logLevel);
  const unknown = unknownEnvVariables(process.env);
  if (unknown.length > 0) {
    logger.warn({ variables: unknown }, 'ignoring ZABKIT_ environment variables that configure nothing (a typo?)');
  }
  const self = config.members.find((member) => member.id === config.id);
  let member: Member;
  try {
    member = await Member.start(config, logger);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'EADDRINUSE'
        ? `a port of member ${config.id} is already in use (${(error as Error).message})`
        : `member ${config.id} could not start: ${(error as Error).message}`;
    logger.fatal({ err: error }, message);
    process.stderr.write(`zabkit-server: ${message}\n`);
    process.exit(1);
  }
  let admin: Awaited<ReturnType<typeof startAdmin>>;
  try {
    admin = await startAdmin(member, config.adminHost, self?.adminPort ?? 0);
  } catch (error) {
    const message = `admin port ${self?.adminPort} of member ${config.id}: ${(error as Error).message}`;
    logger.fatal({ err: error }, message);
    process.stderr.write(`zabkit-server: ${message}\n`);
    await member.stop();
    process.exit(1);
  }
  member.onFatal((error) => {
    process.stderr.write(`zabkit-server: member ${config.id} stopped: ${error.message} (see log)\n`);
    process.exit(1);
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    admin.close();
    member.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP: reload the TLS client port's certificates (renewed files), as nginx and etcd do.
  process.on('SIGHUP', () => {
    member.reloadClientTls('SIGHUP');
    try {
      if (reloadAdminTls(admin, member)) logger.info('admin HTTPS certificate reloaded');
    } catch (error) {
      logger.error({ error: (error as Error).message }, 'admin HTTPS certificate not reloaded; the current one stays');
    }
  });
}
