// Sample values of every message kind, shared by the round-trip tests, the fuzzer's seed corpus
// and the benchmark. Not exported from the package.
import type { ACL, LogEntry, PeerMessage, Request, Result, SnapshotRecord, Stat, Txn } from '@zabkit/core';
import type { ClientMessage, ServerMessage } from './client-protocol.js';
import type { PeerHandshakeMessage } from './peer-protocol.js';

export const ZXID_BIG = 0x1f_ffff * 0x1_0000_0000 + 0xffff_fffe; // epoch near the cap: needs all 53 bits
export const SESSION_BIG = 0x1f_ffff_ffff_fff0;
/** SESSION_PASSWORD: a session password in the fixtures (every byte value class: 0, low, high). */
export const SESSION_PASSWORD = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 200) % 256);

export const sampleStat: Stat = {
  czxid: 0x1_0000_0001,
  mzxid: ZXID_BIG,
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_000_123,
  version: 3,
  cversion: 7,
  aversion: 0,
  ephemeralOwner: SESSION_BIG,
  dataLength: 5,
  numChildren: 2,
  pzxid: 0x2_0000_0004,
};

const data = Uint8Array.of(1, 2, 3, 0xff, 0);

const OPEN_ACL: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** sampleAcl names every scheme a stored ACL may hold. */
export const sampleAcl: ACL[] = [
  { perms: 31, id: { scheme: 'world', id: 'anyone' } },
  { perms: 1, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } },
  { perms: 3, id: { scheme: 'ip', id: '10.0.0.0/8' } },
  { perms: 16, id: { scheme: 'x509', id: 'CN=zabkit-client,O=Zabkit Tests' } },
];

/** sampleRequests has at least one request of every op. */
export const sampleRequests: Request[] = [
  { op: 'create', path: '/app/node', data, mode: 3, ttlMs: 0, acl: sampleAcl },
  { op: 'create', path: '/ttl', data: new Uint8Array(0), mode: 5, ttlMs: 60_000, acl: OPEN_ACL },
  { op: 'delete', path: '/app/node', version: -1 },
  { op: 'setData', path: '/app', data, version: 4 },
  { op: 'check', path: '/app', version: 4 },
  { op: 'getACL', path: '/app' },
  { op: 'setACL', path: '/app', acl: sampleAcl, version: 2 },
  {
    op: 'multi',
    ops: [
      { op: 'check', path: '/a', version: 1 },
      { op: 'create', path: '/a/b', data, mode: 0, ttlMs: 0, acl: OPEN_ACL },
      { op: 'setData', path: '/a', data, version: -1 },
      { op: 'delete', path: '/a/c', version: 2 },
    ],
  },
  { op: 'getData', path: '/app', watch: true },
  { op: 'exists', path: '/app', watch: false },
  { op: 'getChildren', path: '/', watch: true },
  { op: 'getEphemerals', prefixPath: '/' },
  { op: 'getAllChildrenNumber', path: '/app' },
  { op: 'whoAmI' },
  {
    op: 'multiRead',
    ops: [
      { op: 'getData', path: '/a', watch: false },
      { op: 'getChildren', path: '/a', watch: true },
    ],
  },
  { op: 'sync', path: '/app' },
  {
    op: 'reconfig',
    members: [
      { id: 1, role: 'participant', address: 'zk1:2888:2888', clientAddress: 'zk1:2181', endpoints: '' },
      { id: 4, role: 'observer', address: 'zk4:2888:2888', clientAddress: '', endpoints: '' },
    ],
    fromVersion: -1,
  },
  {
    op: 'reconfig',
    members: [{ id: 2, role: 'participant', address: 'h:1:1', clientAddress: 'h:2', endpoints: '' }],
    fromVersion: 0x100000003,
  },
  { op: 'addWatch', path: '/config', mode: 1 },
  { op: 'removeWatches', path: '/config', watcherType: 3 },
  {
    op: 'setWatches',
    relativeZxid: ZXID_BIG,
    dataWatches: ['/a'],
    existWatches: [],
    childWatches: ['/', '/b'],
    persistentWatches: ['/p'],
    persistentRecursiveWatches: ['/r'],
  },
  { op: 'closeSession' },
];

/** sampleResults has at least one result of every op. */
export const sampleResults: Result[] = [
  { op: 'create', path: '/app/node0000000001', stat: sampleStat },
  { op: 'delete' },
  { op: 'setData', stat: sampleStat },
  { op: 'check' },
  { op: 'setACL', stat: sampleStat },
  { op: 'getACL', acl: sampleAcl, stat: sampleStat },
  {
    op: 'multi',
    results: [
      { op: 'check' },
      { op: 'create', path: '/a/b', stat: sampleStat },
      { op: 'setData', stat: sampleStat },
      { op: 'delete' },
      { op: 'error', code: 'RUNTIME_INCONSISTENCY' },
    ],
  },
  { op: 'getData', data, stat: sampleStat },
  { op: 'exists', stat: sampleStat },
  { op: 'exists', stat: null },
  { op: 'getChildren', children: ['a', 'b'], stat: sampleStat },
  { op: 'getEphemerals', paths: ['/e1', '/e2'] },
  { op: 'getAllChildrenNumber', count: 1_000_000 },
  { op: 'reconfig', version: 0x300000007 },
  {
    op: 'whoAmI',
    ids: [
      { scheme: 'ip', id: '127.0.0.1' },
      { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' },
    ],
  },
  {
    op: 'multiRead',
    results: [
      { op: 'getData', data, stat: sampleStat },
      { op: 'getChildren', children: [], stat: sampleStat },
      { op: 'error', code: 'NO_NODE' },
    ],
  },
  { op: 'sync', path: '/app' },
  { op: 'addWatch' },
  { op: 'removeWatches' },
  { op: 'setWatches' },
  { op: 'closeSession' },
];

/** sampleTxns has at least one transaction of every type. */
export const sampleTxns: Txn[] = [
  {
    type: 'create',
    path: '/e',
    data,
    ephemeralOwner: SESSION_BIG,
    container: false,
    ttlMs: 0,
    parentCversion: 9,
    acl: sampleAcl,
  },
  { type: 'delete', path: '/e' },
  { type: 'setACL', path: '/a', acl: sampleAcl.slice(1), version: 3 },
  { type: 'setData', path: '/a', data, version: 5 },
  {
    type: 'multi',
    txns: [
      { type: 'check', path: '/a', version: 5 },
      {
        type: 'create',
        path: '/c',
        data,
        ephemeralOwner: 0,
        container: true,
        ttlMs: 0,
        parentCversion: 1,
        acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      },
      { type: 'setData', path: '/a', data, version: 6 },
      { type: 'delete', path: '/d' },
      { type: 'error', code: 'BAD_VERSION' },
    ],
  },
  { type: 'createSession', sessionId: SESSION_BIG, timeoutMs: 30_000, password: SESSION_PASSWORD },
  { type: 'createSession', sessionId: 5, timeoutMs: 30_000, password: new Uint8Array(0) },
  { type: 'closeSession', sessionId: SESSION_BIG, paths: ['/e1', '/e2'] },
  { type: 'error', code: 'NODE_EXISTS' },
  {
    type: 'reconfig',
    members: [
      {
        id: 1,
        role: 'participant',
        address: 'zk-1.example:7888:7888',
        clientAddress: 'zk-1.example:2181',
        endpoints: '{"client":"zk-1.example:2182"}',
      },
      { id: 2_147_483_647, role: 'observer', address: 'é:1', clientAddress: '', endpoints: '' },
    ],
  },
];

export const sampleLogEntries: LogEntry[] = sampleTxns.map((txn, i) => ({
  zxid: ZXID_BIG - i,
  sessionId: i === 0 ? 0 : SESSION_BIG - i,
  cxid: i,
  timeMs: 1_700_000_000_000 + i,
  txn,
}));

export const sampleSnapshotRecords: SnapshotRecord[] = [
  {
    kind: 'node',
    path: '/a',
    data,
    czxid: 1,
    mzxid: ZXID_BIG,
    pzxid: 3,
    ctime: 1_700_000_000_000,
    mtime: 1_700_000_000_001,
    version: 1,
    cversion: 2,
    aversion: 0,
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    acl: sampleAcl,
  },
  { kind: 'session', sessionId: SESSION_BIG, timeoutMs: 10_000, password: SESSION_PASSWORD },
  {
    kind: 'config',
    version: ZXID_BIG,
    members: [{ id: 3, role: 'participant', address: 'h:1:1', clientAddress: 'h:2', endpoints: '' }],
  },
];

const password = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

/** sampleClientMessages has every client-to-server kind, and a request frame of every op. */
export const sampleClientMessages: ClientMessage[] = [
  {
    kind: 'connectRequest',
    protocolVersion: 1,
    lastZxidSeen: ZXID_BIG,
    timeoutMs: 30_000,
    sessionId: 0,
    password: new Uint8Array(16),
    readOnly: false,
  },
  {
    kind: 'connectRequest',
    protocolVersion: 1,
    lastZxidSeen: 0,
    timeoutMs: 4_000,
    sessionId: SESSION_BIG,
    password,
    readOnly: true,
  },
  ...sampleRequests.map(
    (request, i): ClientMessage => ({ kind: 'request', xid: i + 1, request, linearizable: i % 2 === 1 }),
  ),
  { kind: 'ping' },
  { kind: 'addAuth', scheme: 'digest', credentials: new TextEncoder().encode('alice:secret') },
];

/** sampleServerMessages has every server-to-client kind, and a reply of every result. */
export const sampleServerMessages: ServerMessage[] = [
  { kind: 'connectResponse', protocolVersion: 1, timeoutMs: 30_000, sessionId: SESSION_BIG, password, readOnly: false },
  {
    kind: 'connectRefused',
    protocolVersion: 1,
    reason: 'ZXID_AHEAD',
    message: 'client has seen zxid 0x5; our last zxid is 0x4',
  },
  ...sampleResults.map(
    (result, i): ServerMessage => ({ kind: 'reply', xid: i + 1, zxid: ZXID_BIG, error: null, result }),
  ),
  { kind: 'reply', xid: 77, zxid: 5, error: 'NO_NODE', result: null },
  { kind: 'reply', xid: 0x7fff_ffff, zxid: 0, error: 'NOT_LEADER', result: null },
  { kind: 'watchEvent', xid: -1, event: { type: 4, path: '/app', zxid: ZXID_BIG } },
  { kind: 'pong' },
];

const EPOCH = 0x1f_ffff;

/** samplePeerMessages has every PeerMessage type, and a forwarded request of every op. */
export const samplePeerMessages: PeerMessage[] = [
  { type: 'notification', leader: 3, zxid: ZXID_BIG, electionEpoch: 2 ** 40, peerEpoch: EPOCH, state: 'LOOKING' },
  { type: 'notification', leader: 1, zxid: 0, electionEpoch: 1, peerEpoch: 0, state: 'OBSERVING' },
  {
    type: 'notification',
    leader: 2,
    zxid: ZXID_BIG,
    electionEpoch: 3,
    peerEpoch: EPOCH,
    state: 'LEADING',
    configVersion: ZXID_BIG,
  },
  {
    type: 'notification',
    leader: 2,
    zxid: ZXID_BIG,
    electionEpoch: 3,
    peerEpoch: EPOCH,
    state: 'LOOKING',
    configVersion: ZXID_BIG,
    committedConfigVersion: ZXID_BIG - 7,
  },
  { type: 'followerInfo', epoch: 0, acceptedEpoch: 6, observer: false, followId: 0 },
  { type: 'followerInfo', epoch: 0, acceptedEpoch: 6, observer: true, followId: 0xffff_ffff },
  { type: 'leaderInfo', epoch: 7 },
  { type: 'ackEpoch', epoch: 7, currentEpoch: 6, lastZxid: ZXID_BIG },
  { type: 'sync', epoch: 7, mode: 'DIFF', truncZxid: 0, snapshotZxid: 0 },
  { type: 'sync', epoch: 7, mode: 'TRUNC', truncZxid: ZXID_BIG, snapshotZxid: 0 },
  { type: 'sync', epoch: 7, mode: 'SNAP', truncZxid: 0, snapshotZxid: ZXID_BIG },
  { type: 'snapChunk', epoch: 7, records: sampleSnapshotRecords },
  { type: 'entries', epoch: 7, entries: sampleLogEntries },
  { type: 'newLeader', epoch: 7, zxid: 7 * 2 ** 32 },
  { type: 'ackNewLeader', epoch: 7, lastZxid: ZXID_BIG },
  { type: 'syncAck', epoch: 7, chunks: 12 },
  { type: 'upToDate', epoch: 7, committedZxid: ZXID_BIG },
  { type: 'proposal', epoch: 7, entries: sampleLogEntries.slice(0, 2) },
  { type: 'ack', epoch: 7, zxid: ZXID_BIG },
  { type: 'commit', epoch: 7, zxid: ZXID_BIG },
  { type: 'inform', epoch: 7, entries: sampleLogEntries.slice(3) },
  { type: 'ping', epoch: 7, sessions: [1, SESSION_BIG] },
  ...[...sampleRequests, { op: 'createSession' as const, timeoutMs: 30_000, password: SESSION_PASSWORD }].map(
    (request, i): PeerMessage => ({
      type: 'forward',
      epoch: 7,
      followId: 0x8000_0001,
      sessionId: i === 0 ? 0 : SESSION_BIG,
      cxid: i,
      request,
      auth:
        i % 2 === 0
          ? []
          : [
              { scheme: 'ip', id: '10.1.2.3' },
              { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' },
            ],
    }),
  ),
  { type: 'barrier', epoch: 7, id: 1 },
  { type: 'barrierAck', epoch: 7, id: 1 },
  { type: 'barrierRequest', epoch: 7, id: 2 ** 40 },
  { type: 'barrierResult', epoch: 7, id: 2 ** 40, zxid: ZXID_BIG },
];

export const samplePeerHandshakes: PeerHandshakeMessage[] = [
  {
    type: 'handshake',
    protocolVersion: 3,
    serverId: 3,
    auth: 'none',
    nonce: new Uint8Array(0),
    proof: new Uint8Array(0),
  },
  {
    type: 'handshake',
    protocolVersion: 3,
    serverId: 5,
    auth: 'hmac-sha256',
    nonce: new Uint8Array(32).fill(7),
    proof: new Uint8Array(32).fill(9),
  },
  { type: 'handshakeProof', proof: new Uint8Array(32).fill(3) },
  { type: 'handshakeRefused', protocolVersion: 3, reason: 'AUTH_FAILED', message: 'wrong proof' },
  { type: 'handshakeRefused', protocolVersion: 1, reason: 'UNKNOWN_SERVER', message: 'server 9 is not a member' },
];
