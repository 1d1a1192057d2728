import type { ErrorCode, MultiOp, SessionId, SnapshotRecord, WriteRequest } from '../../types.js';
import { CreateMode, OPEN_ACL_UNSAFE } from '../../types.js';
import { testPassword } from './harness.js';

/**
 * NaiveModel is the obvious, slow statement of ZooKeeper's write semantics: one JS object per
 * znode, requests applied one after another with no outstanding changes, a multi applied to a
 * copy that is kept or thrown away. The property tests check the pipeline + tree against it.
 * It only knows what the generators produce: valid paths and modes, data within limits.
 */
interface ModelNode {
  data: Uint8Array;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  ephemeralOwner: SessionId;
  container: boolean;
  ttlMs: number;
}

type State = { nodes: Map<string, ModelNode>; sessions: Map<SessionId, number> };

class ModelError {
  constructor(readonly code: ErrorCode) {}
}
const fail = (code: ErrorCode): never => {
  throw new ModelError(code);
};

const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';
const childrenOf = (state: State, path: string): string[] =>
  [...state.nodes.keys()].filter((p) => p !== '/' && p !== path && parentOf(p) === path);

export type ModelOutcome = { error: ErrorCode | null; paths: (string | null)[] };

export class NaiveModel {
  state: State = { nodes: new Map(), sessions: new Map() };

  constructor() {
    const zero = (): ModelNode => ({
      data: new Uint8Array(0),
      czxid: 0,
      mzxid: 0,
      pzxid: 0,
      ctime: 0,
      mtime: 0,
      version: 0,
      cversion: 0,
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
    });
    this.state.nodes.set('/', zero());
    this.state.nodes.set('/zookeeper', zero());
  }

  createSession(sessionId: SessionId, timeoutMs: number): void {
    this.state.sessions.set(sessionId, timeoutMs);
  }

  /** write applies one request as the ensemble would; `paths` lists created paths (null for other ops). */
  write(sessionId: SessionId, request: WriteRequest, zxid: number, timeMs: number): ModelOutcome {
    if (!this.state.sessions.has(sessionId)) return { error: 'UNKNOWN_SESSION', paths: [] };
    if (request.op === 'closeSession') {
      for (const [path, node] of [...this.state.nodes]) {
        if (node.ephemeralOwner === sessionId) this.deleteNode(this.state, path, zxid);
      }
      this.state.sessions.delete(sessionId);
      return { error: null, paths: [] };
    }
    if (request.op === 'setACL') throw new Error('naive model: setACL is not modelled (acl.test.ts covers it)');
    if (request.op === 'reconfig') throw new Error('naive model: reconfig is Zab membership (membership.test.ts)');
    if (request.op === 'multi') {
      const copy: State = {
        nodes: new Map([...this.state.nodes].map(([p, n]) => [p, { ...n }])),
        sessions: this.state.sessions,
      };
      const paths: (string | null)[] = [];
      for (let i = 0; i < request.ops.length; i++) {
        try {
          paths.push(this.op(copy, sessionId, request.ops[i]!, zxid, timeMs));
        } catch (error) {
          if (!(error instanceof ModelError)) throw error;
          return { error: error.code, paths: [] };
        }
      }
      this.state = copy;
      return { error: null, paths };
    }
    try {
      return { error: null, paths: [this.op(this.state, sessionId, request, zxid, timeMs)] };
    } catch (error) {
      if (!(error instanceof ModelError)) throw error;
      return { error: error.code, paths: [] };
    }
  }

  private op(state: State, sessionId: SessionId, op: MultiOp, zxid: number, timeMs: number): string | null {
    const system = (path: string) => path === '/zookeeper' || path.startsWith('/zookeeper/');
    switch (op.op) {
      case 'create': {
        const sequential = [
          CreateMode.PERSISTENT_SEQUENTIAL,
          CreateMode.EPHEMERAL_SEQUENTIAL,
          CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
        ].includes(op.mode as 2);
        if (system(sequential ? `${op.path}0` : op.path)) fail('NO_AUTH');
        const parentPath = parentOf(op.path);
        const parent = state.nodes.get(parentPath) ?? fail('NO_NODE');
        const path = sequential ? op.path + String(parent.cversion).padStart(10, '0') : op.path;
        if (state.nodes.has(path)) fail('NODE_EXISTS');
        if (parent.ephemeralOwner !== 0) fail('NO_CHILDREN_FOR_EPHEMERALS');
        parent.cversion += 1;
        parent.pzxid = zxid;
        const ephemeral = op.mode === CreateMode.EPHEMERAL || op.mode === CreateMode.EPHEMERAL_SEQUENTIAL;
        state.nodes.set(path, {
          data: op.data,
          czxid: zxid,
          mzxid: zxid,
          pzxid: zxid,
          ctime: timeMs,
          mtime: timeMs,
          version: 0,
          cversion: 0,
          ephemeralOwner: ephemeral ? sessionId : 0,
          container: op.mode === CreateMode.CONTAINER,
          ttlMs: op.ttlMs,
        });
        return path;
      }
      case 'delete': {
        if (op.path === '/') fail('BAD_ARGUMENTS');
        if (system(op.path)) fail('NO_AUTH');
        const node = state.nodes.get(op.path) ?? fail('NO_NODE');
        if (op.version !== -1 && op.version !== node.version) fail('BAD_VERSION');
        if (childrenOf(state, op.path).length > 0) fail('NOT_EMPTY');
        this.deleteNode(state, op.path, zxid);
        return null;
      }
      case 'setData': {
        if (system(op.path)) fail('NO_AUTH');
        const node = state.nodes.get(op.path) ?? fail('NO_NODE');
        if (op.version !== -1 && op.version !== node.version) fail('BAD_VERSION');
        node.data = op.data;
        node.version += 1;
        node.mzxid = zxid;
        node.mtime = timeMs;
        return null;
      }
      case 'check': {
        const node = state.nodes.get(op.path) ?? fail('NO_NODE');
        if (op.version !== -1 && op.version !== node.version) fail('BAD_VERSION');
        return null;
      }
    }
  }

  private deleteNode(state: State, path: string, zxid: number): void {
    state.nodes.delete(path);
    const parent = state.nodes.get(parentOf(path))!;
    parent.pzxid = Math.max(parent.pzxid, zxid);
  }

  /** records lists the model as SnapshotRecords, sorted by path then session id. */
  records(): SnapshotRecord[] {
    const nodes: SnapshotRecord[] = [...this.state.nodes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, n]) => ({
        kind: 'node',
        path,
        data: n.data,
        czxid: n.czxid,
        mzxid: n.mzxid,
        pzxid: n.pzxid,
        ctime: n.ctime,
        mtime: n.mtime,
        version: n.version,
        cversion: n.cversion,
        aversion: 0,
        ephemeralOwner: n.ephemeralOwner,
        container: n.container,
        ttlMs: n.ttlMs,
        acl: OPEN_ACL_UNSAFE,
      }));
    const sessions: SnapshotRecord[] = [...this.state.sessions]
      .sort(([a], [b]) => a - b)
      .map(([sessionId, timeoutMs]) => ({ kind: 'session', sessionId, timeoutMs, password: testPassword(sessionId) }));
    return [...nodes, ...sessions];
  }
}

/** sortedRecords sorts a tree's records the way NaiveModel.records does. */
export function sortedRecords(records: Iterable<SnapshotRecord>): SnapshotRecord[] {
  const list = [...records];
  const nodes = list.filter((r) => r.kind === 'node').sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const sessions = list.filter((r) => r.kind === 'session').sort((a, b) => a.sessionId - b.sessionId);
  return [...nodes, ...sessions];
}
