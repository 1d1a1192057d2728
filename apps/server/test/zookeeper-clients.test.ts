import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki } from '@zabkit/transport-tcp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { addressOf, cleanup, connect, type Harness, startHarness } from './acceptance.js';
import { RawClient } from './raw-client.js';

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

/**
 * driveWorkload runs a client's workload program: when it prints READY it has connected to the
 * first member only and done its work, then `between` runs (kill -9 of that member) and a line on
 * its stdin tells it to move to the others and check its session survived. Resolves with its
 * output once it exits 0; rejects with the output otherwise.
 */
async function driveWorkload(command: string, args: string[], between: () => Promise<void>): Promise<string> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('READY')) resolve();
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    void exited.then(() => reject(new Error(`${command} exited before READY:\n${out}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    await ready;
    await between();
    child.stdin.write('go\n');
    const code = await exited;
    console.log(out);
    if (code !== 0) throw new Error(`${command} exited with ${code}:\n${out}`);
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * killAndElect kill -9s a member and waits for the others to serve again (an election, if it led):
 * a client that moved meanwhile would see CONNECTION_LOSS on a request caught by the election, which
 * a ZooKeeper application retries; the tests check the resume, not that retry.
 */
async function killAndElect(harness: Harness, id: number): Promise<void> {
  await harness.ensemble.kill(id);
  await harness.ensemble.waitForLeader();
}

/** retryOnLoss runs a ZooKeeper client call again while it fails with CONNECTION_LOSS (what applications do). */
async function retryOnLoss<T>(work: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !/CONNECTION_LOSS|connection loss/i.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
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
    const out = await driveWorkload(
      PYTHON,
      [join(HERE, 'zookeeper', 'kazoo_workload.py'), first, others.join(',')],
      () => killAndElect(harness, victim),
    );
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

  it("ZooKeeper's C client library (libzookeeper-mt): versions, sequential and ephemeral znodes, a watch firing once, multi, kill -9 of its member and a resume elsewhere", async () => {
    requireInstalled('/usr/include/zookeeper/zookeeper.h', "Debian's libzookeeper-mt-dev");
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-c-client-'));
    try {
      const binary = join(dir, 'c_workload');
      const built = spawnSync(
        'gcc',
        ['-O1', '-Wall', '-o', binary, join(HERE, 'zookeeper', 'c_workload.c'), '-lzookeeper_mt'],
        {
          encoding: 'utf8',
        },
      );
      expect(built.status, built.stderr).toBe(0);
      const harness = await startHarness({}, { zookeeper: true });
      const [first, ...others] = zookeeperAddresses(harness) as [string, ...string[]];
      const victim = harness.ensemble.members[0]?.id as number;
      const out = await driveWorkload(binary, [first, others.join(',')], () => killAndElect(harness, victim));
      expect(out).toContain('watch fired once');
      expect(out).toMatch(/resumed 0x[0-9a-f]+ ephemeral kept \/cw\/e/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

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

  it('node-zookeeper-client: versions, sequential and ephemeral znodes, a watch firing once, multi, kill -9 of its member and a resume elsewhere', async () => {
    const zookeeper = require('node-zookeeper-client');
    const harness = await startHarness({}, { zookeeper: true });
    const addresses = zookeeperAddresses(harness);
    const zk = zookeeper.createClient(addresses.join(','), { sessionTimeout: 10_000, spinDelay: 50 });
    const call = <T>(fn: (cb: (error: Error | null, ...rest: unknown[]) => void) => void): Promise<T> =>
      new Promise((resolve, reject) => fn((error, ...rest) => (error ? reject(error) : resolve(rest as T))));
    const connected = () => new Promise<void>((resolve) => zk.once('connected', () => resolve()));
    const first = connected();
    zk.connect();
    await first;
    try {
      const session = zk.getSessionId().toString('hex');
      await call((cb) => zk.create('/nzc', Buffer.from('v0'), cb));
      const [seq] = await call<[string]>((cb) =>
        zk.create('/nzc/s-', Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb),
      );
      expect(seq).toBe('/nzc/s-0000000000');
      const [eph] = await call<[string]>((cb) =>
        zk.create('/nzc/e', Buffer.from('mine'), zookeeper.CreateMode.EPHEMERAL, cb),
      );
      await call((cb) => zk.setData('/nzc', Buffer.from('v1'), 0, cb));
      await expect(call((cb) => zk.setData('/nzc', Buffer.from('v2'), 0, cb))).rejects.toThrow(/BAD_VERSION/);
      const events: string[] = [];
      await call((cb) => zk.getData('/nzc', (event: { getName(): string }) => events.push(event.getName()), cb));
      await call((cb) => zk.setData('/nzc', Buffer.from('v2'), -1, cb));
      await call((cb) => zk.setData('/nzc', Buffer.from('v3'), -1, cb));
      await call((cb) => zk.transaction().check('/nzc', 3).create('/nzc/m', Buffer.from('x')).commit(cb));
      await expect(
        call((cb) => zk.transaction().create('/nzc/m2', Buffer.alloc(0)).check('/nzc', 99).commit(cb)),
      ).rejects.toThrow();
      expect(await call<[unknown]>((cb) => zk.exists('/nzc/m2', cb))).toEqual([null]);
      expect(events).toEqual(['NODE_DATA_CHANGED']);
      // The member it is connected to: the one whose ZooKeeper port has a connection.
      const counts = await Promise.all(
        addresses.map(async (address) =>
          Number(/^Connections: (\d+)$/m.exec(await fourLetterWord(address, 'srvr'))?.[1]),
        ),
      );
      const victim = harness.ensemble.members[counts.indexOf(1)]?.id;
      expect(victim).toBeDefined();
      const again = connected();
      await killAndElect(harness, victim as number);
      await again;
      expect(zk.getSessionId().toString('hex')).toBe(session);
      const [, stat] = await retryOnLoss(() => call<[Buffer, { ephemeralOwner: Buffer }]>((cb) => zk.getData(eph, cb)));
      expect(stat.ephemeralOwner.toString('hex')).toBe(session);
      await retryOnLoss(() => call((cb) => zk.setData('/nzc', Buffer.from('after'), 3, cb)));
      console.log(`node-zookeeper-client: session 0x${session} resumed after member ${victim} was killed; ${eph} kept`);
    } finally {
      zk.close();
    }
  }, 60_000);

  it("the zookeeper npm package (ZooKeeper's C client as a Node addon): versions, sequential and ephemeral znodes, a watch firing once, kill -9 of its member and a resume elsewhere", async () => {
    const ZooKeeper = require('zookeeper');
    const harness = await startHarness({}, { zookeeper: true });
    const addresses = zookeeperAddresses(harness);
    // host_order_deterministic: it connects to the first member first, the one killed below.
    const zk = new ZooKeeper({
      connect: addresses.join(','),
      timeout: 10_000,
      debug_level: ZooKeeper.constants.ZOO_LOG_LEVEL_ERROR,
      host_order_deterministic: true,
      data_as_buffer: true,
    });
    await new Promise<void>((resolve) => {
      zk.once('connect', () => resolve());
      zk.init({});
    });
    try {
      const session = String(zk.client_id);
      expect(await zk.create('/znpm', 'v0', 0)).toBe('/znpm');
      expect((await zk.set('/znpm', 'v1', 0)).version).toBe(1);
      await expect(zk.set('/znpm', 'v2', 0)).rejects.toThrow(/bad version/);
      expect(await zk.create('/znpm/s-', '', ZooKeeper.constants.ZOO_SEQUENCE)).toBe('/znpm/s-0000000000');
      const ephemeral = await zk.create('/znpm/e', 'mine', ZooKeeper.constants.ZOO_EPHEMERAL);
      const events: string[] = [];
      await zk.w_get('/znpm', (_type: number, _state: number, path: string) => events.push(path));
      await zk.set('/znpm', 'v2', -1);
      await zk.set('/znpm', 'v3', -1);
      await zk.sync('/znpm');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(events).toEqual(['/znpm']);
      const owner = (await zk.exists(ephemeral, false)).ephemeralOwner;
      await killAndElect(harness, harness.ensemble.members[0]?.id as number);
      // The C client moves to the next member with the same session.
      let stat: { ephemeralOwner: string; version: number } | undefined;
      const until = Date.now() + 30_000;
      while (stat === undefined) {
        stat = await zk.exists(ephemeral, false).catch(() => undefined);
        if (stat === undefined && Date.now() > until) throw new Error('the zookeeper package did not reconnect');
        if (stat === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(String(zk.client_id)).toBe(session);
      expect(stat.ephemeralOwner).toBe(owner);
      const [, data] = await retryOnLoss(() => zk.get('/znpm', false));
      expect(Buffer.from(data as Uint8Array).toString()).toBe('v3');
      expect((await retryOnLoss(() => zk.set('/znpm', 'after', 3))).version).toBe(4);
      console.log(`zookeeper npm package: session ${session} resumed after a kill -9; ${ephemeral} kept`);
    } finally {
      zk.close();
    }
  }, 60_000);

  it("mixed: a zabkit client's write fires kazoo's watch, and kazoo's ephemeral is in getEphemerals of its session, resumed by a zabkit client", async () => {
    const harness = await startHarness({}, { zookeeper: true });
    const child = spawn(PYTHON, [join(HERE, 'zookeeper', 'kazoo_mixed.py'), zookeeperAddresses(harness).join(',')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    // A mark counts once its whole line is in (output arrives in chunks that split lines).
    const waitFor = (mark: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () =>
          out
            .split('\n')
            .slice(0, -1)
            .some((line) => line.startsWith(mark)) && resolve();
        child.stdout.on('data', (chunk) => {
          out += chunk;
          check();
        });
        child.stderr.on('data', (chunk) => {
          out += chunk;
        });
        void exited.then(() => reject(new Error(`kazoo exited before ${mark}:\n${out}`)));
        check();
      });
    try {
      await waitFor('READY');
      const [, sessionHex, passwordHex, ephemeral] = /READY (\w+) (\w+) (\S+)/.exec(out) as RegExpExecArray;
      const writer = await connect(harness, harness.ensemble.members[2]?.id as number);
      expect((await writer.setData('/mixed', new TextEncoder().encode('from zabkit'))).error).toBeNull();
      await waitFor('FIRED');
      // zabkit's own client resumes kazoo's session (its id and password) and lists its ephemerals.
      const resumed = await RawClient.connect(addressOf(harness, harness.ensemble.members[1]?.id as number), {
        sessionId: Number.parseInt(sessionHex as string, 16),
        password: Buffer.from(passwordHex as string, 'hex'),
      });
      try {
        await resumed.request({ op: 'sync', path: '/' });
        const listed = await resumed.request({ op: 'getEphemerals', prefixPath: '/mixed' });
        expect(listed.result).toEqual({ op: 'getEphemerals', paths: [ephemeral] });
      } finally {
        resumed.close();
      }
      child.stdin.write('done\n');
      expect(await exited, out).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('kazoo over TLS on secureZookeeperPort (the clientTls certificates); a plain client there gets nothing', async () => {
    const pki = makeTestPki();
    try {
      const harness = await startHarness(
        {},
        { zookeeper: true, clientTls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile } },
      );
      const member = harness.ensemble.members[0];
      const secure = `${member?.host}:${member?.secureZookeeperPort}`;
      const { out, code } = await run(PYTHON, [join(HERE, 'zookeeper', 'kazoo_tls.py'), secure, pki.ca.certFile], '');
      console.log(out);
      expect(code, out).toBe(0);
      expect(out).toMatch(/^TLS OK [0-9a-f]+$/m);
      // A four-letter word in the clear on the TLS port is a failed handshake, not a command.
      expect(await fourLetterWord(secure, 'ruok').catch(() => '')).toBe('');
    } finally {
      pki.remove();
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
