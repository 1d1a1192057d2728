import { parseArgs } from 'node:util';
import { DEFAULT_BASE_PORTS, type Ensemble, startEnsemble } from './ensemble.js';
import { prettyLine } from './logger.js';
import { ZOOKEEPER_PORT_DEFAULT } from './ports.js';

const COLORS = ['\u001b[36m', '\u001b[35m', '\u001b[33m', '\u001b[34m', '\u001b[32m', '\u001b[31m', '\u001b[37m'];

/**
 * runDev starts a local ensemble of member processes on loopback with DESIGN.md's ports, keeps its
 * data under `--dir` across runs, prints the members and the connect string, streams their logs
 * prefixed by member, and stops them all on Ctrl-C.
 */
export async function runDev(args: readonly string[]): Promise<void> {
  let values: { nodes: string; observers: string; dir: string };
  try {
    values = parseArgs({
      args: [...args],
      options: {
        nodes: { type: 'string', default: '3' },
        observers: { type: 'string', default: '0' },
        dir: { type: 'string', default: './.zabkit' },
      },
    }).values as typeof values;
  } catch (error) {
    process.stderr.write(`zabkit-server dev: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const nodes = Number(values.nodes);
  const observers = Number(values.observers);
  if (![1, 3, 5, 7].includes(nodes) || !Number.isInteger(observers) || observers < 0 || observers > 9) {
    process.stderr.write('zabkit-server dev: --nodes must be 1, 3, 5 or 7 and --observers 0 to 9\n');
    process.exit(2);
  }
  const color = process.stdout.isTTY === true;
  process.stdout.write(
    `starting ${nodes} voters${observers ? ` and ${observers} observers` : ''} under ${values.dir} …\n`,
  );
  let ensemble: Ensemble;
  try {
    ensemble = await startEnsemble({
      size: nodes,
      observers,
      dir: values.dir,
      fresh: false,
      ports: DEFAULT_BASE_PORTS,
      // ZooKeeper's clients (zkCli.sh, kazoo, Curator) on ZooKeeper's own port numbers.
      zookeeper: { basePort: ZOOKEEPER_PORT_DEFAULT },
      config: { tickMs: 100, initLimitTicks: 50, syncLimitTicks: 20 },
      onLog: (id, line) => {
        const prefix = `m${id}`.padEnd(3);
        const painted = color ? `${COLORS[(id - 1) % COLORS.length]}${prefix}\u001b[0m` : prefix;
        process.stdout.write(`${painted} ${prettyLine(line, color)}\n`);
      },
    });
  } catch (error) {
    process.stderr.write(`zabkit-server dev: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const rows = ensemble.members.map(
    (m) =>
      `  ${String(m.id).padEnd(6)} ${m.role.padEnd(9)} ${`${m.host}:${m.clientPort}`.padEnd(16)} ${`${m.host}:${m.zookeeperPort}`.padEnd(16)} ${String(m.peerPort).padEnd(6)} http://${m.host}:${m.adminPort}/`,
  );
  process.stdout.write(
    `\nzabkit ensemble is up\n  member role      client           zookeeper        peer   admin\n${rows.join('\n')}\n\nconnect string: ${ensemble.connectString}\nZooKeeper clients: ${ensemble.zookeeperConnectString}\nCtrl-C stops every member.\n\n`,
  );
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    process.stdout.write('\nstopping the ensemble …\n');
    ensemble.close().then(() => process.exit(0));
  };
  process.on('SIGINT', close);
  process.on('SIGTERM', close);
}
