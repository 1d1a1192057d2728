import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { formatZxid, parseZxid, zxidEpoch } from '@zabkit/core';
import {
  consolidateBackup,
  fsyncDirectory,
  inspectFile,
  nodeFileSystem,
  openFileStorage,
  readSnapshotBytes,
  writeConsolidatedSnapshot,
} from '@zabkit/storage';

export const SNAPSHOT_USAGE = `zabkit-server snapshot save FILE --server HOST:ADMINPORT|URL [--token-file F] [--ca F] [--json]
zabkit-server snapshot restore FILE --data-dir DIR [--json]`;

/**
 * runSnapshot: `snapshot save` takes a consistent backup of a running member through its admin
 * port (GET /api/snapshot: a fuzzy snapshot plus the transactions applied while it was written,
 * replayed here into one snapshot file at one zxid) and prints its zxid, counts and sha256;
 * `snapshot restore` seeds an empty data directory from such a file (or from any member's
 * snapshot file). Exit 0 on success, 1 when the backup or the file is refused, 2 on a usage error.
 */
export async function runSnapshot(args: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    process.stderr.write(`zabkit-server snapshot: ${(error as Error).message}\n${SNAPSHOT_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const result = parsed.action === 'save' ? await save(parsed) : await restore(parsed);
    process.stdout.write(parsed.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.message}\n`);
  } catch (error) {
    process.stderr.write(`zabkit-server snapshot ${parsed.action}: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

interface Parsed {
  action: 'save' | 'restore';
  file: string;
  server: string | undefined;
  tokenFile: string | undefined;
  ca: string | undefined;
  dataDir: string | undefined;
  json: boolean;
}

function parse(args: readonly string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      'token-file': { type: 'string' },
      ca: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [action, file, ...extra] = positionals;
  if (action !== 'save' && action !== 'restore') throw new Error('say which: save or restore');
  if (file === undefined || extra.length > 0) throw new Error('one FILE');
  if (action === 'save' && values.server === undefined) throw new Error('save needs --server HOST:ADMINPORT');
  if (action === 'restore' && values['data-dir'] === undefined) throw new Error('restore needs --data-dir DIR');
  return {
    action,
    file,
    server: values.server,
    tokenFile: values['token-file'],
    ca: values.ca,
    dataDir: values['data-dir'],
    json: values.json === true,
  };
}

interface Summary {
  message: string;
  file: string;
  zxid: string;
  znodes: number;
  sessions: number;
  bytes: number;
  sha256: string;
}

async function save(parsed: Parsed): Promise<Summary & { server: string; fuzzyZxid: string; replayed: number }> {
  const url = new URL(
    '/api/snapshot',
    /^https?:\/\//.test(parsed.server as string) ? parsed.server : `http://${parsed.server}`,
  );
  const token = parsed.tokenFile === undefined ? undefined : readFileSync(parsed.tokenFile, 'utf8').trim();
  const { response, body } = await get(
    url,
    token,
    parsed.ca === undefined ? undefined : readFileSync(parsed.ca, 'utf8'),
  );
  if (response.statusCode !== 200) {
    let reason = body.toString('utf8');
    try {
      reason = (JSON.parse(reason) as { error: string }).error;
    } catch {}
    throw new Error(`${url.host} answered ${response.statusCode}: ${reason}`);
  }
  const split = Number(response.headers['x-zabkit-snapshot-bytes']);
  if (!(Number.isInteger(split) && split > 0 && split <= body.length)) {
    throw new Error(`${url.host} sent no valid x-zabkit-snapshot-bytes header (is it a zabkit member's admin port?)`);
  }
  const backup = consolidateBackup(body.subarray(0, split), body.subarray(split));
  const announced = response.headers['x-zabkit-zxid'];
  if (typeof announced === 'string' && parseZxid(announced) !== backup.zxid) {
    throw new Error(`the backup replays to ${formatZxid(backup.zxid)}, but the member announced ${announced}`);
  }
  const temp = `${parsed.file}.${process.pid}.tmp`;
  try {
    await writeConsolidatedSnapshot(nodeFileSystem, temp, backup, Date.now());
    await rename(temp, parsed.file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(parsed.file));
  const summary = summarize(parsed.file);
  return {
    ...summary,
    server: url.host,
    fuzzyZxid: formatZxid(backup.fuzzyZxid),
    replayed: backup.tailEntries,
    message: `${summary.message}\n  from ${url.host}: a fuzzy snapshot from ${formatZxid(backup.fuzzyZxid)} and ${backup.tailEntries} transactions applied while it was written`,
  };
}

async function restore(parsed: Parsed): Promise<Summary & { dataDir: string; epoch: number }> {
  const dataDir = parsed.dataDir as string;
  const bytes = readFileSync(parsed.file);
  let snapshot: ReturnType<typeof readSnapshotBytes>;
  try {
    snapshot = readSnapshotBytes(bytes);
  } catch (error) {
    throw new Error(`${parsed.file} is not a whole snapshot: ${(error as Error).message}`);
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(
      `${dataDir} is not empty: restore seeds a new member's data directory (move the old one away first)`,
    );
  }
  const epoch = zxidEpoch(snapshot.header.zxid);
  const storage = await openFileStorage({ dir: dataDir });
  try {
    await storage.load();
    await storage.saveSnapshot(snapshot.header, snapshot.records);
    // The member starts in the snapshot's epoch, as it would after having applied its last transaction.
    await storage.saveEpochs({ acceptedEpoch: epoch, currentEpoch: epoch });
  } finally {
    await storage.close();
  }
  const summary = summarize(parsed.file);
  return {
    ...summary,
    dataDir,
    epoch,
    message: `${summary.message}\n  restored into ${dataDir} (epoch ${epoch}); start the member with dataDir ${dataDir}`,
  };
}

function summarize(file: string): Summary {
  const bytes = readFileSync(file);
  const report = inspectFile(bytes);
  if (report.kind !== 'snapshot' || !report.integrity.whole) throw new Error(`${file} does not read back whole`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const zxid = report.zxid;
  const { nodes, sessions } = report.summary;
  return {
    message: `${file}: snapshot at zxid ${zxid}, ${nodes} znodes, ${sessions} sessions, ${bytes.length} bytes, sha256 ${sha256}`,
    file,
    zxid,
    znodes: nodes,
    sessions,
    bytes: bytes.length,
    sha256,
  };
}

function get(
  url: URL,
  token: string | undefined,
  ca: string | undefined,
): Promise<{ response: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const request =
      url.protocol === 'https:'
        ? httpsRequest(url, { headers, ...(ca === undefined ? {} : { ca }) })
        : httpRequest(url, { headers });
    request.on('error', (error) => reject(new Error(`${url.host}: ${error.message}`)));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        if (!response.complete) reject(new Error(`${url.host} closed the backup before its end`));
        else resolve({ response, body: Buffer.concat(chunks) });
      });
    });
    request.end();
  });
}
