import { formatZxid, type LogEntry, type SnapshotRecord, type Txn } from '@zabkit/core';
import { decodeRecordEntry, SEGMENT_MAGIC, scanSegment } from './log-record.js';
import { decodeSnapshot, SNAPSHOT_MAGIC } from './snapshot-file.js';

/**
 * Reading a log segment or a snapshot file for a person (`zabkit-server inspect`): what is in
 * it, and whether it is whole. Pure: bytes in, a report out; nothing is repaired.
 */

/** InspectedEntry is one log record, as a line of text would show it. */
export interface InspectedEntry {
  zxid: string;
  sessionId: string;
  cxid: number;
  time: string;
  type: Txn['type'];
  /** what: the paths (or session) the transaction touches, and its outcome for an error. */
  what: string;
  bytes: number;
}

export interface LogReport {
  kind: 'log';
  firstZxid: string;
  previousZxid: string;
  entries: InspectedEntry[];
  /** summary: counts by type, the zxid range and the byte sizes. */
  summary: { entries: number; byType: Record<string, number>; zxids: [string, string] | null; fileBytes: number };
  /** integrity: `whole` when every byte is in a record whose crc holds; otherwise where the torn or corrupt part starts. */
  integrity: { whole: true } | { whole: false; badOffset: number; badBytes: number };
}

export interface InspectedNode {
  path: string;
  dataBytes: number;
  version: number;
  aversion: number;
  ephemeralOwner: string;
  acl: string;
}

export interface SnapshotReport {
  kind: 'snapshot';
  zxid: string;
  time: string;
  nodes: InspectedNode[];
  sessions: { sessionId: string; timeoutMs: number; hasPassword: boolean }[];
  summary: {
    nodes: number;
    sessions: number;
    ephemerals: number;
    dataBytes: number;
    distinctAcls: number;
    fileBytes: number;
  };
  integrity: { whole: true } | { whole: false; error: string };
}

/** inspectFile tells a log segment from a snapshot by its magic number and reports on it. */
export function inspectFile(bytes: Uint8Array): LogReport | SnapshotReport {
  if (bytes.length < 4) throw new Error(`${bytes.length} bytes: not a zabkit log segment or snapshot`);
  const magic = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (magic === SEGMENT_MAGIC) return inspectLog(bytes);
  if (magic === SNAPSHOT_MAGIC) return inspectSnapshot(bytes);
  throw new Error(`magic 0x${magic.toString(16)}: not a zabkit log segment (ZBLG) or snapshot (ZBSN)`);
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function describeTxn(txn: Txn): string {
  switch (txn.type) {
    case 'create':
      return `${txn.path}${txn.ephemeralOwner === 0 ? '' : ` ephemeral of ${hex(txn.ephemeralOwner)}`} (${txn.data.length} B)`;
    case 'setData':
      return `${txn.path} version ${txn.version} (${txn.data.length} B)`;
    case 'setACL':
      return `${txn.path} aversion ${txn.version}: ${describeAcl(txn.acl)}`;
    case 'delete':
      return txn.path;
    case 'multi':
      return txn.txns.map((op) => (op.type === 'error' ? `error ${op.code}` : `${op.type} ${op.path}`)).join(', ');
    case 'createSession':
      return `${hex(txn.sessionId)} timeout ${txn.timeoutMs} ms`;
    case 'closeSession':
      return `${hex(txn.sessionId)}${txn.paths.length > 0 ? `, deleting ${txn.paths.join(' ')}` : ''}`;
    case 'error':
      return txn.code;
    case 'reconfig':
      return txn.members.map((member) => `${member.id}:${member.role}`).join(', ');
  }
}

function describeAcl(acl: readonly { perms: number; id: { scheme: string; id: string } }[]): string {
  const letters = (perms: number) =>
    ['c', 'd', 'r', 'w', 'a'].filter((_, i) => (perms & [4, 8, 1, 2, 16][i]!) !== 0).join('');
  return acl.map((entry) => `${entry.id.scheme}:${entry.id.id}:${letters(entry.perms)}`).join(',');
}

function inspectLog(bytes: Uint8Array): LogReport {
  const scan = scanSegment(bytes);
  if (scan.header === null) throw new Error('the segment header is torn or corrupt');
  const entries: InspectedEntry[] = [];
  const byType: Record<string, number> = {};
  for (const location of scan.records) {
    const entry: LogEntry = decodeRecordEntry(bytes, location);
    byType[entry.txn.type] = (byType[entry.txn.type] ?? 0) + 1;
    entries.push({
      zxid: formatZxid(entry.zxid),
      sessionId: hex(entry.sessionId),
      cxid: entry.cxid,
      time: new Date(entry.timeMs).toISOString(),
      type: entry.txn.type,
      what: describeTxn(entry.txn),
      bytes: location.bytes,
    });
  }
  const first = entries[0];
  const last = entries[entries.length - 1];
  return {
    kind: 'log',
    firstZxid: formatZxid(scan.header.firstZxid),
    previousZxid: formatZxid(scan.header.previousZxid),
    entries,
    summary: {
      entries: entries.length,
      byType,
      zxids: first === undefined || last === undefined ? null : [first.zxid, last.zxid],
      fileBytes: bytes.length,
    },
    integrity:
      scan.badOffset === null
        ? { whole: true }
        : { whole: false, badOffset: scan.badOffset, badBytes: bytes.length - scan.badOffset },
  };
}

function inspectSnapshot(bytes: Uint8Array): SnapshotReport {
  let snapshot: ReturnType<typeof decodeSnapshot>;
  try {
    snapshot = decodeSnapshot(bytes);
  } catch (error) {
    return {
      kind: 'snapshot',
      zxid: '?',
      time: '?',
      nodes: [],
      sessions: [],
      summary: { nodes: 0, sessions: 0, ephemerals: 0, dataBytes: 0, distinctAcls: 0, fileBytes: bytes.length },
      integrity: { whole: false, error: (error as Error).message },
    };
  }
  const nodes: InspectedNode[] = [];
  const sessions: SnapshotReport['sessions'] = [];
  const acls = new Set<string>();
  let dataBytes = 0;
  let ephemerals = 0;
  for (const record of snapshot.records as SnapshotRecord[]) {
    if (record.kind === 'config') continue;
    if (record.kind === 'session') {
      sessions.push({
        sessionId: hex(record.sessionId),
        timeoutMs: record.timeoutMs,
        hasPassword: record.password.length > 0,
      });
      continue;
    }
    const acl = describeAcl(record.acl);
    acls.add(acl);
    dataBytes += record.data.length;
    if (record.ephemeralOwner !== 0) ephemerals++;
    nodes.push({
      path: record.path,
      dataBytes: record.data.length,
      version: record.version,
      aversion: record.aversion,
      ephemeralOwner: hex(record.ephemeralOwner),
      acl,
    });
  }
  return {
    kind: 'snapshot',
    zxid: formatZxid(snapshot.header.zxid),
    time: new Date(snapshot.header.timeMs).toISOString(),
    nodes,
    sessions,
    summary: {
      nodes: nodes.length,
      sessions: sessions.length,
      ephemerals,
      dataBytes,
      distinctAcls: acls.size,
      fileBytes: bytes.length,
    },
    integrity: { whole: true },
  };
}

/** formatReport prints a report as text: a summary, then one line per entry or znode (at most `recordsMax`). */
export function formatReport(report: LogReport | SnapshotReport, recordsMax = Number.POSITIVE_INFINITY): string {
  const lines: string[] = [];
  if (report.kind === 'log') {
    const { summary, integrity } = report;
    lines.push(
      `log segment: first zxid ${report.firstZxid}, previous ${report.previousZxid}, ${summary.fileBytes} bytes`,
    );
    lines.push(
      `${summary.entries} entries${summary.zxids === null ? '' : `, ${summary.zxids[0]} … ${summary.zxids[1]}`}: ${Object.entries(
        summary.byType,
      )
        .map(([type, count]) => `${type} ${count}`)
        .join(', ')}`,
    );
    lines.push(
      integrity.whole
        ? 'integrity: whole (every record complete, every crc holds)'
        : `integrity: torn or corrupt from byte ${integrity.badOffset} (${integrity.badBytes} bytes not read)`,
    );
    for (const entry of report.entries.slice(0, recordsMax)) {
      lines.push(
        `${entry.zxid}  ${entry.time}  session ${entry.sessionId} cxid ${entry.cxid}  ${entry.type} ${entry.what}`,
      );
    }
  } else {
    const { summary, integrity } = report;
    lines.push(`snapshot: zxid ${report.zxid}, started ${report.time}, ${summary.fileBytes} bytes`);
    lines.push(
      `${summary.nodes} znodes (${summary.ephemerals} ephemeral, ${summary.dataBytes} bytes of data, ${summary.distinctAcls} distinct ACLs), ${summary.sessions} sessions`,
    );
    lines.push(
      integrity.whole
        ? 'integrity: whole (header, chunks and file crc hold)'
        : `integrity: invalid: ${integrity.error}`,
    );
    for (const node of report.nodes.slice(0, recordsMax)) {
      lines.push(
        `${node.path}  ${node.dataBytes} B  version ${node.version}  aversion ${node.aversion}${node.ephemeralOwner === '0x0' ? '' : `  ephemeral of ${node.ephemeralOwner}`}  ${node.acl}`,
      );
    }
    for (const session of report.sessions.slice(0, recordsMax)) {
      lines.push(
        `session ${session.sessionId}  timeout ${session.timeoutMs} ms${session.hasPassword ? '' : '  (no password)'}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
