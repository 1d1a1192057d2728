// Sample messages covering every op and response, for the tests and as the fuzzer's seeds. Not
// exported from the package.
import type { Stat } from '@zabkit/core';
import type { JuteConnectRequest, JuteConnectResponse } from './connect.js';
import { OP } from './op-codes.js';
import type { JuteResponse } from './replies.js';
import type { JuteRequestFrame } from './requests.js';

export const sampleStat: Stat = {
  czxid: 0x1_0000_0003,
  mzxid: 0x2_0000_0007,
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_123_456,
  version: 4,
  cversion: 2,
  aversion: 1,
  ephemeralOwner: 0x1f_ffff_ffff_ffff,
  dataLength: 5,
  numChildren: 2,
  pzxid: 0x2_0000_0005,
};

const bytes = (...values: number[]) => Uint8Array.from(values);
const openAcl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export const sampleConnectRequests: JuteConnectRequest[] = [
  {
    protocolVersion: 0,
    lastZxidSeen: 0,
    timeoutMs: 30_000,
    sessionId: 0,
    password: new Uint8Array(16),
    readOnly: false,
    readOnlySent: true,
  },
  {
    protocolVersion: 0,
    lastZxidSeen: 0x3_0000_0010,
    timeoutMs: 4_000,
    sessionId: 0x1_0000_0001,
    password: Uint8Array.from({ length: 16 }, (_, i) => i * 17),
    readOnly: true,
    readOnlySent: true,
  },
  {
    protocolVersion: 0,
    lastZxidSeen: 7,
    timeoutMs: 10_000,
    sessionId: 0,
    password: new Uint8Array(0),
    readOnly: false,
    readOnlySent: false,
  },
];

export const sampleConnectResponses: { response: JuteConnectResponse; withReadOnly: boolean }[] = [
  {
    response: {
      protocolVersion: 0,
      timeoutMs: 30_000,
      sessionId: 0x1_0000_0001,
      password: Uint8Array.from({ length: 16 }, (_, i) => 255 - i),
      readOnly: false,
    },
    withReadOnly: true,
  },
  {
    response: { protocolVersion: 0, timeoutMs: 0, sessionId: 0, password: new Uint8Array(16), readOnly: false },
    withReadOnly: false,
  },
];

/** sampleRequests: at least one frame for every op decodeRequest knows. */
export const sampleRequests: JuteRequestFrame[] = [
  {
    xid: 1,
    op: OP.create,
    request: {
      kind: 'core',
      request: { op: 'create', path: '/a', data: bytes(1, 2, 3), mode: 0, ttlMs: 0, acl: openAcl },
    },
  },
  {
    xid: 2,
    op: OP.create2,
    request: {
      kind: 'core',
      request: {
        op: 'create',
        path: '/a/seq-',
        data: new Uint8Array(0),
        mode: 3,
        ttlMs: 0,
        acl: [
          { perms: 1, id: { scheme: 'world', id: 'anyone' } },
          { perms: 31, id: { scheme: 'digest', id: 'bob:x/Y+z=' } },
        ],
      },
    },
  },
  {
    xid: 3,
    op: OP.createContainer,
    request: {
      kind: 'core',
      request: { op: 'create', path: '/box', data: new Uint8Array(0), mode: 4, ttlMs: 0, acl: openAcl },
    },
  },
  {
    xid: 4,
    op: OP.createTTL,
    request: {
      kind: 'core',
      request: { op: 'create', path: '/ttl', data: bytes(9), mode: 5, ttlMs: 60_000, acl: openAcl },
    },
  },
  { xid: 5, op: OP.delete, request: { kind: 'core', request: { op: 'delete', path: '/a', version: -1 } } },
  { xid: 6, op: OP.deleteContainer, request: { kind: 'core', request: { op: 'delete', path: '/box', version: -1 } } },
  { xid: 7, op: OP.exists, request: { kind: 'core', request: { op: 'exists', path: '/a', watch: true } } },
  {
    xid: 8,
    op: OP.getData,
    request: { kind: 'core', request: { op: 'getData', path: '/zookeeper/config', watch: false } },
  },
  {
    xid: 9,
    op: OP.setData,
    request: { kind: 'core', request: { op: 'setData', path: '/a', data: bytes(0xff, 0), version: 3 } },
  },
  { xid: 10, op: OP.getACL, request: { kind: 'core', request: { op: 'getACL', path: '/a' } } },
  {
    xid: 11,
    op: OP.setACL,
    request: {
      kind: 'core',
      request: { op: 'setACL', path: '/a', acl: [{ perms: 3, id: { scheme: 'ip', id: '10.0.0.0/8' } }], version: 0 },
    },
  },
  { xid: 12, op: OP.getChildren, request: { kind: 'core', request: { op: 'getChildren', path: '/', watch: true } } },
  { xid: 13, op: OP.sync, request: { kind: 'core', request: { op: 'sync', path: '/a' } } },
  { xid: -2, op: OP.ping, request: { kind: 'ping' } },
  {
    xid: 14,
    op: OP.getChildren2,
    request: { kind: 'core', request: { op: 'getChildren', path: '/a', watch: false } },
  },
  { xid: 15, op: OP.check, request: { kind: 'core', request: { op: 'check', path: '/a', version: 2 } } },
  {
    xid: 16,
    op: OP.multi,
    request: {
      kind: 'core',
      request: {
        op: 'multi',
        ops: [
          { op: 'check', path: '/a', version: 2 },
          { op: 'create', path: '/a/b', data: bytes(7), mode: 1, ttlMs: 0, acl: openAcl },
          { op: 'create', path: '/a/c', data: new Uint8Array(0), mode: 0, ttlMs: 0, acl: openAcl },
          { op: 'create', path: '/t', data: new Uint8Array(0), mode: 6, ttlMs: 5_000, acl: openAcl },
          { op: 'setData', path: '/a', data: bytes(1), version: -1 },
          { op: 'delete', path: '/old', version: 0 },
        ],
      },
    },
    multiOps: [OP.check, OP.create, OP.create2, OP.createTTL, OP.setData, OP.delete],
  },
  {
    xid: 17,
    op: OP.reconfig,
    request: {
      kind: 'reconfig',
      joiningServers: 'server.4=10.0.0.4:2888:3888;2181',
      leavingServers: '',
      newMembers: '',
      curConfigId: -1,
    },
  },
  { xid: 18, op: OP.checkWatches, request: { kind: 'checkWatches', path: '/a', watcherType: 2 } },
  {
    xid: 19,
    op: OP.removeWatches,
    request: { kind: 'core', request: { op: 'removeWatches', path: '/a', watcherType: 3 } },
  },
  {
    xid: 20,
    op: OP.multiRead,
    request: {
      kind: 'core',
      request: {
        op: 'multiRead',
        ops: [
          { op: 'getData', path: '/a', watch: false },
          { op: 'getChildren', path: '/', watch: false },
        ],
      },
    },
    multiOps: [OP.getData, OP.getChildren],
  },
  {
    xid: -4,
    op: OP.auth,
    request: { kind: 'auth', scheme: 'digest', credentials: new TextEncoder().encode('bob:pw') },
  },
  {
    xid: -8,
    op: OP.setWatches,
    request: {
      kind: 'core',
      request: {
        op: 'setWatches',
        relativeZxid: 0x1_0000_0009,
        dataWatches: ['/a', '/b'],
        existWatches: ['/gone'],
        childWatches: [],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      },
    },
  },
  { xid: 21, op: OP.sasl, request: { kind: 'sasl', token: bytes(0x60, 0x82, 0x01) } },
  { xid: 22, op: OP.getEphemerals, request: { kind: 'core', request: { op: 'getEphemerals', prefixPath: '/' } } },
  { xid: 23, op: OP.getAllChildrenNumber, request: { kind: 'getAllChildrenNumber', path: '/a' } },
  {
    xid: -8,
    op: OP.setWatches2,
    request: {
      kind: 'core',
      request: {
        op: 'setWatches',
        relativeZxid: 0x1_0000_0009,
        dataWatches: ['/a'],
        existWatches: [],
        childWatches: ['/'],
        persistentWatches: ['/p'],
        persistentRecursiveWatches: ['/r', '/ü'],
      },
    },
  },
  { xid: 24, op: OP.addWatch, request: { kind: 'core', request: { op: 'addWatch', path: '/p', mode: 1 } } },
  { xid: 25, op: OP.whoAmI, request: { kind: 'whoAmI' } },
  { xid: 26, op: OP.closeSession, request: { kind: 'core', request: { op: 'closeSession' } } },
];

/** sampleReplies: a reply for every JuteResponse kind, with the op code that asked. */
export const sampleReplies: { op: number; xid: number; zxid: number; err: number; response: JuteResponse }[] = [
  { op: OP.create, xid: 1, zxid: 0x1_0000_0004, err: 0, response: { op: 'create', path: '/a' } },
  {
    op: OP.create2,
    xid: 2,
    zxid: 0x1_0000_0005,
    err: 0,
    response: { op: 'create2', path: '/a/seq-0000000001', stat: sampleStat },
  },
  { op: OP.createTTL, xid: 4, zxid: 9, err: 0, response: { op: 'create2', path: '/ttl', stat: sampleStat } },
  { op: OP.exists, xid: 7, zxid: 9, err: 0, response: { op: 'stat', stat: sampleStat } },
  { op: OP.exists, xid: 7, zxid: 9, err: -101, response: { op: 'empty' } },
  {
    op: OP.getData,
    xid: 8,
    zxid: 0x2_0000_0007,
    err: 0,
    response: { op: 'getData', data: new TextEncoder().encode('hello'), stat: sampleStat },
  },
  { op: OP.setData, xid: 9, zxid: 10, err: 0, response: { op: 'stat', stat: sampleStat } },
  {
    op: OP.getACL,
    xid: 10,
    zxid: 10,
    err: 0,
    response: { op: 'getACL', acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], stat: sampleStat },
  },
  { op: OP.getChildren, xid: 12, zxid: 10, err: 0, response: { op: 'getChildren', children: ['a', 'zookeeper'] } },
  {
    op: OP.getChildren2,
    xid: 14,
    zxid: 10,
    err: 0,
    response: { op: 'getChildren2', children: ['b', 'c'], stat: sampleStat },
  },
  { op: OP.sync, xid: 13, zxid: 10, err: 0, response: { op: 'sync', path: '/a' } },
  { op: OP.getEphemerals, xid: 22, zxid: 10, err: 0, response: { op: 'getEphemerals', paths: ['/e1', '/x/e2'] } },
  { op: OP.getAllChildrenNumber, xid: 23, zxid: 10, err: 0, response: { op: 'getAllChildrenNumber', count: 42 } },
  {
    op: OP.whoAmI,
    xid: 25,
    zxid: 10,
    err: 0,
    response: {
      op: 'whoAmI',
      clientInfo: [
        { authScheme: 'ip', user: '127.0.0.1' },
        { authScheme: 'digest', user: 'bob' },
      ],
    },
  },
  {
    op: OP.multi,
    xid: 16,
    zxid: 0x1_0000_0010,
    err: 0,
    response: {
      op: 'multi',
      results: [
        { op: 'check' },
        { op: 'create', path: '/a/b' },
        { op: 'create2', path: '/a/c', stat: sampleStat },
        { op: 'setData', stat: sampleStat },
        { op: 'delete' },
      ],
    },
  },
  {
    op: OP.multi,
    xid: 16,
    zxid: 0x1_0000_0010,
    err: 0,
    response: {
      op: 'multi',
      results: [
        { op: 'error', err: 0 },
        { op: 'error', err: -103 },
        { op: 'error', err: -2 },
      ],
    },
  },
  {
    op: OP.multiRead,
    xid: 20,
    zxid: 10,
    err: 0,
    response: {
      op: 'multiRead',
      results: [
        { op: 'getData', data: new Uint8Array(0), stat: sampleStat },
        { op: 'getChildren', children: ['x'] },
        { op: 'error', err: -101 },
      ],
    },
  },
  { op: OP.reconfig, xid: 17, zxid: 11, err: 0, response: { op: 'getData', data: bytes(0x73), stat: sampleStat } },
  { op: OP.addWatch, xid: 24, zxid: 10, err: 0, response: { op: 'addWatch' } },
  { op: OP.sasl, xid: 21, zxid: 10, err: 0, response: { op: 'sasl', token: bytes(1, 2) } },
  { op: OP.delete, xid: 5, zxid: 12, err: 0, response: { op: 'empty' } },
  { op: OP.ping, xid: -2, zxid: 12, err: 0, response: { op: 'empty' } },
  { op: OP.auth, xid: -4, zxid: 0, err: -115, response: { op: 'empty' } },
  { op: OP.setWatches, xid: -8, zxid: 12, err: 0, response: { op: 'empty' } },
  { op: OP.closeSession, xid: 26, zxid: 13, err: 0, response: { op: 'empty' } },
];

export const sampleNotifications: { type: number; path: string; state: number; zxid?: number }[] = [
  { type: 1, path: '/a', state: 3 },
  { type: 4, path: '/', state: 3, zxid: 0x1_0000_0007 },
  { type: 3, path: '/ü/ß', state: 5 },
];
