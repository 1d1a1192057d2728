import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * LiveMemory is what one server process holds after a forced full GC. `liveBytes` is the figure
 * compared between systems: for a Node member the JS heap used plus `external` (which already
 * counts `arrayBuffers`, Buffers included), for a JVM the heap used after `jcmd GC.run`.
 */
export interface LiveMemory {
  liveBytes: number;
  heapUsedBytes: number;
  /** externalBytes: memory of C++ objects bound to JS objects, ArrayBuffers included (Node only). */
  externalBytes: number | null;
  /** arrayBuffersBytes: the ArrayBuffers and Buffers part of externalBytes (Node only). */
  arrayBuffersBytes: number | null;
  /** rssBytes: VmRSS from /proc/PID/status, read right after the GC. */
  rssBytes: number | null;
  /** method says how the GC was forced and the figures read. */
  method: string;
}

/**
 * The preload every zabkit member runs under `--memory` (through NODE_OPTIONS --import, as
 * `--profile` does): on SIGUSR2 it forces two full GCs through the in-process inspector
 * (HeapProfiler.collectGarbage, the DevTools "collect garbage" button; the pause between lets V8
 * free the backing stores of dead ArrayBuffers), then writes process.memoryUsage() to
 * DIR/heap-PID.json (through a rename, so a reader never sees half a file).
 */
const PRELOAD = `import { Session } from 'node:inspector';
import { renameSync, writeFileSync } from 'node:fs';
const file = DIR + '/heap-' + process.pid + '.json';
const collect = (session) =>
  new Promise((resolve, reject) => session.post('HeapProfiler.collectGarbage', (error) => (error ? reject(error) : resolve())));
process.on('SIGUSR2', async () => {
  let report;
  const session = new Session();
  try {
    session.connect();
    await collect(session);
    await new Promise((done) => setTimeout(done, 100));
    await collect(session);
    report = { atMs: Date.now(), ...process.memoryUsage() };
  } catch (error) {
    report = { atMs: Date.now(), error: String(error) };
  } finally {
    session.disconnect();
  }
  writeFileSync(file + '.tmp', JSON.stringify(report));
  renameSync(file + '.tmp', file);
});
`;

/** heapProbeNodeOptions writes the preload into `dir` and returns the NODE_OPTIONS that load it. */
export function heapProbeNodeOptions(dir: string): string {
  const preload = join(dir, 'heap-probe-preload.mjs');
  writeFileSync(preload, PRELOAD.replace('DIR', JSON.stringify(dir)));
  return `--import=${pathToFileURL(preload).href}`;
}

/** parseStatusKb reads one `Field:   1234 kB` line of /proc/PID/status, in bytes (null if absent). */
export function parseStatusKb(status: string, field: string): number | null {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/** rssBytes is a process's resident set (VmRSS), or null when it is gone. */
export function rssBytes(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    return parseStatusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return null;
  }
}

/**
 * nodeLiveMemory asks a member started with {@link heapProbeNodeOptions} for its memory after a
 * full GC (SIGUSR2), and waits for the answer in `dir` (a GC of a large heap takes seconds).
 */
export async function nodeLiveMemory(pid: number, dir: string, timeoutMs = 120_000): Promise<LiveMemory> {
  const file = join(dir, `heap-${pid}.json`);
  const askedMs = Date.now();
  process.kill(pid, 'SIGUSR2');
  const deadline = askedMs + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 50));
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, 'utf8')) as {
      atMs: number;
      error?: string;
      heapUsed: number;
      external: number;
      arrayBuffers: number;
    };
    if (report.atMs < askedMs) continue;
    if (report.error !== undefined) throw new Error(`member ${pid} could not collect garbage: ${report.error}`);
    return {
      liveBytes: report.heapUsed + report.external,
      heapUsedBytes: report.heapUsed,
      externalBytes: report.external,
      arrayBuffersBytes: report.arrayBuffers,
      rssBytes: rssBytes(pid),
      method: 'inspector HeapProfiler.collectGarbage ×2; process.memoryUsage() heapUsed + external',
    };
  }
  throw new Error(`member ${pid} did not report its memory within ${timeoutMs} ms (started without the preload?)`);
}

/** jcmdPath is the jcmd of the JDK that `java` belongs to (a jcmd must match its JVM), or null. */
export function jcmdPath(java: string): string | null {
  try {
    const candidate = join(dirname(realpathSync(java)), 'jcmd');
    return existsSync(candidate) ? candidate : null;
  } catch {
    return null;
  }
}

/**
 * parseHeapInfoUsed sums the `total …K, used …K` lines of `jcmd PID GC.heap_info`: G1 prints one
 * (`garbage-first heap total 524288K, used 23405K`), the serial and parallel collectors one per
 * generation. Metaspace lines have another shape and are not counted. Null if none is found.
 */
export function parseHeapInfoUsed(text: string): number | null {
  let used = 0;
  let found = false;
  for (const match of text.matchAll(/total (\d+)K, used (\d+)K/g)) {
    used += Number(match[2]) * 1024;
    found = true;
  }
  return found ? used : null;
}

/**
 * jvmLiveMemory forces a full GC in a JVM (`jcmd PID GC.run`, i.e. System.gc(), a full collection
 * under G1) and reads its heap used (`jcmd PID GC.heap_info`). Without jcmd (a JRE without the
 * JDK tools) it reports RSS only, and says so in `method`.
 */
export async function jvmLiveMemory(pid: number, jcmd: string | null): Promise<LiveMemory> {
  if (jcmd === null) {
    const rss = rssBytes(pid);
    return {
      liveBytes: rss ?? Number.NaN,
      heapUsedBytes: Number.NaN,
      externalBytes: null,
      arrayBuffersBytes: null,
      rssBytes: rss,
      method: 'no jcmd (JDK tools not installed): RSS only, not live memory',
    };
  }
  await run(jcmd, [String(pid), 'GC.run'], { timeout: 120_000 });
  const { stdout } = await run(jcmd, [String(pid), 'GC.heap_info'], { timeout: 60_000 });
  const used = parseHeapInfoUsed(stdout);
  if (used === null) throw new Error(`no heap figures in jcmd ${pid} GC.heap_info: ${stdout.slice(0, 300)}`);
  return {
    liveBytes: used,
    heapUsedBytes: used,
    externalBytes: null,
    arrayBuffersBytes: null,
    rssBytes: rssBytes(pid),
    method: 'jcmd GC.run; jcmd GC.heap_info heap used',
  };
}
