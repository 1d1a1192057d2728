import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, connect, type Harness, startHarness } from './acceptance.js';
import type { RawClient } from './raw-client.js';

// Issue 15, from outside: ZooKeeper's own clients, installed from Debian by `.ci/run` (zkCli.sh of
// the `zookeeper` package, `cli_mt` of `zookeeper-bin`, `python3-kazoo`) and node-zookeeper-client
// from npm, against real member processes on their ZooKeeper port, unchanged. Where ZooKeeper
// itself is installed, zkCli's script runs against a real ZooKeeper too and the answers are compared.

afterEach(cleanup);

const ZK_CLI = '/usr/share/zookeeper/bin/zkCli.sh';
const CLI_MT = '/usr/lib/zookeeper/bin/cli_mt';
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const SLF4J_NOP_JAR = '/usr/share/java/slf4j-nop.jar';
const PYTHON = '/usr/bin/python3';
const HERE = new URL('.', import.meta.url).pathname;

function requireInstalled(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install ${what} (.ci/run does)`);
}

function zookeeperAddresses(harness: Harness): string[] {
  return harness.ensemble.members.map((m) => `${m.host}:${m.zookeeperPort}`);
}

/** run runs a command with `input` on stdin and resolves with its output once it exits. */
function run(
  command: string,
  args: string[],
  input: string,
  timeoutMs = 60_000,
): Promise<{ out: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, code: code ?? -1 });
    });
    child.stdin.end(input);
  });
}

/** fourLetterWord sends a four-letter word to `address` and resolves with the whole answer. */
function fourLetterWord(address: string, word: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port: Number(port) }, () => socket.write(word));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to ${word}`)));
  });
}

/** ZK_CLI_SCRIPT: what an operator types into zkCli.sh: every create mode, versions, ACLs, a watch. */
const ZK_CLI_SCRIPT = [
  'create /cli "one"',
  'create -s /cli/seq "x"',
  'create -s /cli/seq "y"',
  'create -e /cli/eph "e"',
  'create -c /cli/container',
  'create -t 60000 /cli/ttl "t"',
  'create /cli "again"',
  'get /cli',
  'set -v 0 /cli "two"',
  'set -v 0 /cli "three"',
  'get -s /cli',
  'ls /cli',
  'ls -s /cli',
  'stat /cli/seq0000000000',
  'get -w /cli/seq0000000001',
  'set /cli/seq0000000001 "changed"',
  'getAcl /cli',
  'setAcl /cli world:anyone:cdrwa',
  'setAcl -v 5 /cli world:anyone:r',
  'addauth digest alice:pw',
  'create /cli/owned "o" auth:alice:pw:cdrwa',
  'getAcl /cli/owned',
  'getAllChildrenNumber /cli',
  'sync /cli',
  'addWatch -m PERSISTENT_RECURSIVE /cli',
  'create /cli/watched "w"',
  'delete /cli/seq0000000000',
  'delete /cli',
  'deleteall /cli',
  'ls /',
  'stat /missing',
  'quit',
].join('\n');

/**
 * normalize keeps what must agree between ZooKeeper and zabkit from zkCli's output: the answers,
 * not zxids, times, session ids, digests' salts or log lines.
 */
function normalize(out: string): string[] {
  return (
    out
      .split('\n')
      // zkCli colours nothing when not on a terminal; strip ANSI escapes anyway (ESC, 0x1b).
      .map((line) => line.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '').trimEnd())
      .filter(
        (line) =>
          line !== '' &&
          !/^\d{4}-\d\d-\d\d /.test(line) &&
          !/^(SLF4J|log4j|JLine|Connecting to|Welcome to ZooKeeper|WATCHER::|\[zk: )/.test(line) &&
          !/^(cZxid|mZxid|pZxid|ctime|mtime|ephemeralOwner) = /.test(line),
      )
      .map((line) => line.replace(/0x[0-9a-f]+/g, '0x…'))
  );
}

/** startZooKeeper runs Debian's ZooKeeper standalone on a free port, for the side-by-side comparison. */
async function startZooKeeper(): Promise<{ address: string; stop(): void } | null> {
  if (!existsSync(ZOOKEEPER_JAR)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-zk-'));
  const port = await new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const bound = (probe.address() as { port: number }).port;
      probe.close(() => resolve(bound));
    });
  });
  const child: ChildProcess = spawn(
    '/usr/bin/java',
    [
      '-Dzookeeper.extendedTypesEnabled=true',
      '-Dzookeeper.admin.enableServer=false',
      '-cp',
      `${ZOOKEEPER_JAR}:${SLF4J_NOP_JAR}`,
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      String(port),
      dir,
    ],
    { stdio: 'ignore' },
  );
  const address = `127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  while ((await fourLetterWord(address, 'srvr').catch(() => '')).includes('Mode') === false) {
    if (Date.now() > until) throw new Error('ZooKeeper did not start within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    address,
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const require = createRequire(import.meta.url);

/** statOf is the Stat of an exists reply, or null when the znode does not exist. */
function statOf(reply: Awaited<ReturnType<RawClient['exists']>>): { ephemeralOwner: number } | null {
  return reply.result?.op === 'exists' ? reply.result.stat : null;
}

describe('issue 15: ZooKeeper clients work against zabkit unchanged', () => {
  it('kazoo: CRUD with versions, sequential and ephemeral znodes, a watch firing once, multi, kill -9 of its member and a resume elsewhere', async () => {
    requireInstalled(PYTHON, 'python3');
    const check = spawnSync(PYTHON, ['-c', 'import kazoo']);
    if (check.status !== 0) throw new Error("kazoo is missing: install Debian's python3-kazoo (.ci/run does)");
    const harness = await startHarness({}, { zookeeper: true });
    const [first, ...others] = zookeeperAddresses(harness) as [string, ...string[]];
    const victim = harness.ensemble.members[0]?.id as number;
    const child = spawn(PYTHON, [join(HERE, 'zookeeper', 'kazoo_workload.py'), first, others.join(',')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('READY')) resolve();
      });
      child.stderr.on('data', (chunk) => {
        out += chunk;
      });
      child.on('close', () => reject(new Error(`kazoo exited before READY:\n${out}`)));
    });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await ready;
    await harness.ensemble.kill(victim);
    child.stdin.write('go\n');
    const code = await Promise.race([
      exited,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`kazoo hung:\n${out}`)), 60_000)),
    ]);
    console.log(out);
    expect(code, out).toBe(0);
    expect(out).toContain('watch fired once');
    expect(out).toMatch(/resumed 0x[0-9a-f]+ ephemeral kept/);
  }, 120_000);

  it("zkCli.sh (ZooKeeper's Java client) runs a script with ZooKeeper's answers", async () => {
    requireInstalled(ZK_CLI, "Debian's zookeeper package");
    const harness = await startHarness({}, { zookeeper: true });
    const [address] = zookeeperAddresses(harness) as [string];
    const zabkit = await run(ZK_CLI, ['-server', address], ZK_CLI_SCRIPT);
    const answers = normalize(zabkit.out);
    console.log(answers.join('\n'));
    for (const expected of [
      'Created /cli',
      'Created /cli/seq0000000000',
      'Created /cli/seq0000000001',
      'Created /cli/eph',
      'Created /cli/container',
      'Created /cli/ttl',
      'Node already exists: /cli',
      'version No is not valid : /cli',
      '[container, eph, seq0000000000, seq0000000001, ttl]',
      "'world,'anyone",
      ': cdrwa',
      'Created /cli/owned',
      'Node not empty: /cli',
      'Node does not exist: /missing',
    ]) {
      expect(answers, expected).toContain(expected);
    }
    expect(answers.some((line) => line.startsWith("'digest,'alice:"))).toBe(true);
    const zookeeper = await startZooKeeper();
    if (zookeeper === null) {
      console.log(`ZooKeeper is not installed (${ZOOKEEPER_JAR}): zkCli's answers were not compared with it`);
      return;
    }
    try {
      const reference = normalize((await run(ZK_CLI, ['-server', zookeeper.address], ZK_CLI_SCRIPT)).out);
      // The answers in order; watch events as a set: zkCli prints them from another thread (their
      // place among the answers is a race), and deleteall deletes children in the server's listing
      // order (ZooKeeper's is its hash order, zabkit's sorted).
      const isEvent = (line: string) => line.startsWith('WatchedEvent ');
      expect(answers.filter((line) => !isEvent(line))).toEqual(reference.filter((line) => !isEvent(line)));
      expect(answers.filter(isEvent).sort()).toEqual(reference.filter(isEvent).sort());
      console.log(`zkCli: ${answers.length} lines of answers, the same as ZooKeeper ${zookeeper.address}'s`);
    } finally {
      zookeeper.stop();
    }
  }, 180_000);

  it("the C client (zookeeper-bin's cli_mt): create in every mode, set, get, ls, a watch firing, delete", async () => {
    requireInstalled(CLI_MT, "Debian's zookeeper-bin");
    const harness = await startHarness({}, { zookeeper: true });
    const [address] = zookeeperAddresses(harness) as [string];
    const script = [
      'create /c-client',
      'create +s /c-client/seq-',
      'create +e /c-client/eph',
      'set /c-client world',
      'get /c-client',
      'ls /c-client',
      'wexists /c-client/later',
      'create /c-client/later',
      'delete /c-client/later',
      'delete /c-client/seq-0000000000',
      'delete /c-client',
      'exists /c-client/none',
      'quit',
    ];
    // cli_mt reads commands as they come; one every 300 ms, after the session is up.
    const { out } = await run(
      '/bin/sh',
      ['-c', `(sleep 2; while read line; do echo "$line"; sleep 0.3; done) | ${CLI_MT} ${address}`],
      `${script.join('\n')}\n`,
    );
    const lines = out.split('\n').filter((line) => !/^\d{4}-\d\d-\d\d /.test(line));
    console.log(lines.join('\n'));
    expect(out).toContain('[/c-client]: rc = 0');
    expect(out).toContain('name = /c-client/seq-0000000000');
    expect(out).toContain('name = /c-client/eph');
    expect(out).toMatch(/\/c-client: rc = 0\n value_len = 5\nworld/);
    expect(out).toMatch(/\/c-client: rc = 0\n\teph\n\tseq-0000000000|\/c-client: rc = 0\n\tseq-0000000000\n\teph/);
    expect(out).toMatch(/Watcher CREATED_EVENT state = CONNECTED_STATE for path \/c-client\/later/);
    expect(out).toContain('/c-client: rc = -111'); // ZNOTEMPTY: the ephemeral is still there
    expect(out).toContain('Error -101 for /c-client/none'); // ZNONODE
  }, 90_000);

  it('node-zookeeper-client (npm): CRUD, an ephemeral, a watch; and it sees what a zabkit client does, and the other way round', async () => {
    const zookeeper = require('node-zookeeper-client');
    const harness = await startHarness({}, { zookeeper: true });
    const zk = zookeeper.createClient(zookeeperAddresses(harness).join(','), { sessionTimeout: 10_000 });
    const call = <T>(fn: (cb: (error: Error | null, ...rest: unknown[]) => void) => void): Promise<T> =>
      new Promise((resolve, reject) => fn((error, ...rest) => (error ? reject(error) : resolve(rest as T))));
    await new Promise<void>((resolve) => {
      zk.once('connected', () => resolve());
      zk.connect();
    });
    const native = await connect(harness, harness.ensemble.members[1]?.id as number);
    try {
      await call((cb) => zk.create('/mixed', Buffer.from('from node-zookeeper-client'), cb));
      await native.request({ op: 'sync', path: '/' });
      expect(await native.get('/mixed')).toBe('from node-zookeeper-client');
      // A zabkit client's write fires the ZooKeeper client's watch.
      const fired = new Promise<string>((resolve) => {
        zk.getData(
          '/mixed',
          (event: { getName(): string }) => resolve(event.getName()),
          () => {},
        );
      });
      expect((await native.setData('/mixed', new TextEncoder().encode('from zabkit'))).error).toBeNull();
      expect(await fired).toBe('NODE_DATA_CHANGED');
      // The ZooKeeper client's ephemeral is its session's, seen by the zabkit client.
      const [ephemeral] = await call<[string]>((cb) =>
        zk.create('/mixed/eph', Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL, cb),
      );
      await native.request({ op: 'sync', path: '/' });
      const owner = statOf(await native.exists(ephemeral))?.ephemeralOwner;
      expect(owner).toBe(Number.parseInt(zk.getSessionId().toString('hex'), 16));
      const [data, stat] = await call<[Buffer, { version: number }]>((cb) => zk.getData('/mixed', cb));
      expect(data.toString()).toBe('from zabkit');
      expect(stat.version).toBe(1);
      await expect(call((cb) => zk.setData('/mixed', Buffer.from('x'), 0, cb))).rejects.toThrow(/BAD_VERSION/);
      zk.close();
      // Its session closed: the ephemeral is gone for everyone.
      const until = Date.now() + 10_000;
      while (statOf(await native.exists(ephemeral)) !== null) {
        if (Date.now() > until) throw new Error('the ephemeral outlived its ZooKeeper client');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      zk.close();
      native.close();
    }
  }, 60_000);

  it('four-letter words in ZooKeeper formats, the whitelist, and garbage closing only its own connection', async () => {
    const harness = await startHarness({}, { zookeeper: true });
    const addresses = zookeeperAddresses(harness);
    expect(await fourLetterWord(addresses[0] as string, 'ruok')).toBe('imok');
    const modes = await Promise.all(
      addresses.map(async (address) => /^Mode: (\w+)$/m.exec(await fourLetterWord(address, 'srvr'))?.[1]),
    );
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
    const mntr = await fourLetterWord(addresses[0] as string, 'mntr');
    expect(mntr).toMatch(/^zk_version\t3\.9\.0-zabkit$/m);
    expect(mntr).toMatch(/^zk_server_state\t(leader|follower)$/m);
    expect(mntr).toMatch(/^zk_znode_count\t\d+$/m);
    expect(await fourLetterWord(addresses[0] as string, 'isro')).toBe('rw');
    expect(await fourLetterWord(addresses[0] as string, 'envi')).toBe(
      'envi is not executed because it is not in the whitelist.\n',
    );
    // Garbage: that connection closes, a real client on the same member carries on.
    const native = await connect(harness, harness.ensemble.members[0]?.id as number);
    try {
      await native.create('/before-garbage', 'x');
      const [host, port] = (addresses[0] as string).split(':') as [string, string];
      await new Promise<void>((resolve) => {
        const socket = netConnect({ host, port: Number(port) }, () => {
          socket.write(Buffer.from([0, 0, 0, 12, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]));
        });
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
      });
      expect(await fourLetterWord(addresses[0] as string, 'ruok')).toBe('imok');
      expect((await native.setData('/before-garbage', new TextEncoder().encode('after'))).error).toBeNull();
    } finally {
      native.close();
    }
  }, 60_000);
});
