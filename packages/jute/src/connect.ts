// The session handshake: a client's first frame is a ConnectRequest (no RequestHeader), the
// server's first frame a ConnectResponse (no ReplyHeader).
import { JuteError } from './errors.js';
import { type JuteLimits, JuteReader } from './reader.js';
import { JuteWriter } from './writer.js';

/**
 * JuteConnectRequest is zookeeper.jute's ConnectRequest. Clients from before read-only mode
 * (ZooKeeper 3.3 and older, and some 3.4-era third-party clients) end the record after `passwd`:
 * then `readOnlySent` is false and `readOnly` false, and the ConnectResponse must leave its
 * readOnly byte out too (`encodeConnectResponse(response, false)`), as ZooKeeper's ProtocolManager does.
 */
export interface JuteConnectRequest {
  protocolVersion: number;
  /** lastZxidSeen is the highest zxid the client has seen (0 for a new client). */
  lastZxidSeen: number;
  /** timeoutMs is the session timeout the client asks for (ConnectRequest.timeOut). */
  timeoutMs: number;
  /** sessionId is 0 to create a session, else the session to resume. */
  sessionId: number;
  /** password is the session's password when resuming (ConnectRequest.passwd; 16 zero bytes or empty when new). */
  password: Uint8Array;
  readOnly: boolean;
  /** false for 3.4-era clients that omit the byte */
  readOnlySent: boolean;
}

/** JuteConnectResponse is zookeeper.jute's ConnectResponse. */
export interface JuteConnectResponse {
  protocolVersion: number;
  /** timeoutMs is the negotiated session timeout; 0 (with sessionId 0) tells the client its session is gone. */
  timeoutMs: number;
  sessionId: number;
  password: Uint8Array;
  readOnly: boolean;
}

/**
 * decodeConnectRequest reads a ConnectRequest body, with or without the trailing readOnly byte.
 * Throws JuteError (field `protocolVersion`, `lastZxidSeen`, `timeoutMs`, `sessionId`, `password`,
 * `readOnly` or `body` for bytes after it).
 */
export function decodeConnectRequest(body: Uint8Array, limits?: JuteLimits): JuteConnectRequest {
  const reader = new JuteReader(body, limits);
  const protocolVersion = reader.int('protocolVersion');
  const lastZxidSeen = reader.long('lastZxidSeen');
  const timeoutMs = reader.int('timeoutMs');
  const sessionId = reader.long('sessionId');
  const password = reader.buffer('password');
  const readOnlySent = reader.remaining > 0;
  const readOnly = readOnlySent ? reader.boolean('readOnly') : false;
  reader.end();
  return { protocolVersion, lastZxidSeen, timeoutMs, sessionId, password, readOnly, readOnlySent };
}

/** encodeConnectRequest writes a ConnectRequest frame; it omits the readOnly byte when `readOnlySent` is false. */
export function encodeConnectRequest(request: JuteConnectRequest): Uint8Array {
  if (request === null || typeof request !== 'object') throw new JuteError('not a record', '');
  const writer = new JuteWriter(64 + (request.password?.length ?? 0));
  writer.int(request.protocolVersion, 'protocolVersion');
  writer.long(request.lastZxidSeen, 'lastZxidSeen');
  writer.int(request.timeoutMs, 'timeoutMs');
  writer.long(request.sessionId, 'sessionId');
  writer.buffer(request.password, 'password');
  if (request.readOnlySent) writer.boolean(request.readOnly, 'readOnly');
  else if (request.readOnly) throw new JuteError('readOnly cannot be true when the byte is not sent', 'readOnly');
  return writer.frame();
}

/**
 * encodeConnectResponse writes a ConnectResponse frame (with its length prefix); `withReadOnly`
 * false leaves the trailing readOnly byte out, for a client that did not send one.
 */
export function encodeConnectResponse(response: JuteConnectResponse, withReadOnly: boolean): Uint8Array {
  if (response === null || typeof response !== 'object') throw new JuteError('not a record', '');
  const writer = new JuteWriter(64 + (response.password?.length ?? 0));
  writer.int(response.protocolVersion, 'protocolVersion');
  writer.int(response.timeoutMs, 'timeoutMs');
  writer.long(response.sessionId, 'sessionId');
  writer.buffer(response.password, 'password');
  if (withReadOnly) writer.boolean(response.readOnly, 'readOnly');
  return writer.frame();
}

/** decodeConnectResponse reads a ConnectResponse body; `readOnlySent` says whether it had the readOnly byte. */
export function decodeConnectResponse(
  body: Uint8Array,
  limits?: JuteLimits,
): JuteConnectResponse & { readOnlySent: boolean } {
  const reader = new JuteReader(body, limits);
  const protocolVersion = reader.int('protocolVersion');
  const timeoutMs = reader.int('timeoutMs');
  const sessionId = reader.long('sessionId');
  const password = reader.buffer('password');
  const readOnlySent = reader.remaining > 0;
  const readOnly = readOnlySent ? reader.boolean('readOnly') : false;
  reader.end();
  return { protocolVersion, timeoutMs, sessionId, password, readOnly, readOnlySent };
}
