/**
 * How transcripts print Zab's messages, entries and client outputs: one short line each, with
 * ZooKeeper's message names and zxids as ZooKeeper logs them (`0x100000003` is epoch 1, counter 3).
 * Only what explains the protocol is printed (a FOLLOWERINFO's random followId is not), so a
 * transcript changes only when behaviour does.
 */
import type { LogEntry, Result, Txn } from '../../types.js';
import { formatZxid, type Zxid, zxidCounter, zxidEpoch } from '../../zxid.js';
import type { ClientOutput, PeerMessage } from '../index.js';

/** formatZxids prints a list of zxids as ranges of consecutive counters within an epoch: `0x100000001..0x100000003,0x200000001`. */
export function formatZxids(zxids: readonly Zxid[]): string {
  const ranges: string[] = [];
  let start: Zxid | null = null;
  let end: Zxid = 0;
  const close = () => {
    if (start === null) return;
    ranges.push(start === end ? formatZxid(start) : `${formatZxid(start)}..${formatZxid(end)}`);
  };
  for (const zxid of zxids) {
    if (start !== null && zxidEpoch(zxid) === zxidEpoch(end) && zxidCounter(zxid) === zxidCounter(end) + 1) {
      end = zxid;
      continue;
    }
    close();
    start = zxid;
    end = zxid;
  }
  close();
  return ranges.length === 0 ? '(none)' : ranges.join(',');
}

/** formatEntries prints the zxids of entries (see {@link formatZxids}). */
export function formatEntries(entries: readonly LogEntry[]): string {
  return formatZxids(entries.map((entry) => entry.zxid));
}

/** formatTxn prints what a transaction does: `create /a`, `createSession 0x100000001`, `error NODE_EXISTS`. */
export function formatTxn(txn: Txn): string {
  switch (txn.type) {
    case 'create':
    case 'delete':
    case 'setData':
    case 'setACL':
      return `${txn.type} ${txn.path}`;
    case 'multi':
      return `multi [${txn.txns.map((op) => (op.type === 'error' ? `error ${op.code}` : `${op.type} ${op.path}`)).join(', ')}]`;
    case 'createSession':
    case 'closeSession':
      return `${txn.type} ${formatZxid(txn.sessionId)}`;
    case 'error':
      return `error ${txn.code}`;
    case 'reconfig':
      return `reconfig ${txn.members.map((member) => `${member.id}:${member.role}`).join(',')}`;
  }
}

/** messageType is the name a message is printed and hidden by: ZooKeeper's, upper case. */
export function messageType(message: PeerMessage): string {
  switch (message.type) {
    case 'notification':
      return 'VOTE';
    case 'followerInfo':
      return message.observer ? 'OBSERVERINFO' : 'FOLLOWERINFO';
    case 'sync':
      return message.mode;
    default:
      return message.type.toUpperCase();
  }
}

/** formatMessage prints one peer message without its sender and receiver. */
export function formatMessage(message: PeerMessage): string {
  const name = messageType(message);
  switch (message.type) {
    case 'notification':
      return `${name} ${message.state} leader=${message.leader} zxid=${formatZxid(message.zxid)} peerEpoch=${message.peerEpoch} round=${message.electionEpoch}`;
    case 'followerInfo':
      return `${name} acceptedEpoch=${message.acceptedEpoch}`;
    case 'leaderInfo':
      return `${name} epoch=${message.epoch}`;
    case 'ackEpoch':
      return `${name} epoch=${message.epoch} currentEpoch=${message.currentEpoch} lastZxid=${formatZxid(message.lastZxid)}`;
    case 'sync':
      if (message.mode === 'TRUNC') return `${name} epoch=${message.epoch} truncZxid=${formatZxid(message.truncZxid)}`;
      if (message.mode === 'SNAP')
        return `${name} epoch=${message.epoch} snapshotZxid=${formatZxid(message.snapshotZxid)}`;
      return `${name} epoch=${message.epoch}`;
    case 'snapChunk':
      return `${name} records=${message.records.length}`;
    case 'syncAck':
      return `${name} chunks=${message.chunks}`;
    case 'entries':
    case 'proposal':
    case 'inform':
      return `${name} ${formatEntries(message.entries)}`;
    case 'newLeader':
      return `${name} ${formatZxid(message.zxid)}`;
    case 'ackNewLeader':
      return `${name} epoch=${message.epoch} lastZxid=${formatZxid(message.lastZxid)}`;
    case 'upToDate':
      return `${name} committedZxid=${formatZxid(message.committedZxid)}`;
    case 'ack':
    case 'commit':
      return `${name} ${formatZxid(message.zxid)}`;
    case 'ping':
      return message.sessions.length === 0 ? name : `${name} sessions=${message.sessions.map(formatZxid).join(',')}`;
    case 'forward': {
      const request = message.request;
      const what = 'path' in request ? `${request.op} ${request.path}` : request.op;
      return `${name} ${what} session=${formatZxid(message.sessionId)} cxid=${message.cxid}`;
    }
    case 'barrier':
    case 'barrierAck':
    case 'barrierRequest':
      return `${name} id=${message.id}`;
    case 'barrierResult':
      return `${name} id=${message.id} zxid=${formatZxid(message.zxid)}`;
  }
}

/** formatClientOutput prints what a server hands its clients. */
export function formatClientOutput(output: ClientOutput): string {
  switch (output.type) {
    case 'reply': {
      const { reply } = output;
      const what = reply.error ?? (reply.result ? describeResult(reply.result) : 'ok');
      return `reply session=${formatZxid(reply.sessionId)} xid=${reply.xid} zxid=${formatZxid(reply.zxid)} ${what}`;
    }
    case 'event':
      return `event session=${formatZxid(output.sessionId)} type=${output.event.type} ${output.event.path}`;
    case 'sessionCreated':
      return `session ${formatZxid(output.sessionId)} created (connect ${output.connectId})`;
    case 'connectFailed':
      return `connect ${output.connectId} failed ${output.error}`;
    case 'sessionClosed':
      return `session ${formatZxid(output.sessionId)} closed`;
  }
}

function describeResult(result: Result): string {
  if (result.op === 'getData') return `getData ${JSON.stringify(String.fromCharCode(...result.data))}`;
  return 'path' in result ? `${result.op} ${result.path}` : result.op;
}
