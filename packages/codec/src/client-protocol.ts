import type { ErrorCode, Reply, Request, SessionId, WatchEvent, Zxid } from '@zabkit/core';
import { WatchEventType } from '@zabkit/core';
import { FRAME_BYTES_MAX_DEFAULT } from './frame.js';
import { decodeMessageBody, encodeMessageFrame } from './message.js';
import { type ProtocolVersions, protocolVersion, schemasByRange } from './protocol-version.js';
import { errorCode, path } from './records.js';
import { request } from './requests.js';
import { result } from './results.js';
import {
  boolean,
  bytes,
  type FieldCodec,
  int32,
  int64,
  literal,
  named,
  nonNegativeInt32,
  nullable,
  oneOf,
  string,
  struct,
  uint32,
  union,
  withDefault,
} from './schema.js';

/**
 * CLIENT_PROTOCOL_VERSIONS are the client protocol versions this codec speaks: its own and the
 * previous one once there is one (README "Versions"). Version 1 is the first and only: a connect
 * of another version is refused with PROTOCOL_VERSION.
 */
export const CLIENT_PROTOCOL_VERSIONS: ProtocolVersions = Object.freeze({ min: 1, max: 1 });

/** CLIENT_PROTOCOL_VERSION is this codec's own (newest) client protocol version: CLIENT_PROTOCOL_VERSIONS.max. */
export const CLIENT_PROTOCOL_VERSION = CLIENT_PROTOCOL_VERSIONS.max;
/** PASSWORD_BYTES is the length of a session password (ZooKeeper's 16; all zero for a new session). */
export const PASSWORD_BYTES = 16;
/** WATCH_EVENT_XID is the xid of every watch event, as ZooKeeper's notification xid. */
export const WATCH_EVENT_XID = -1;
/** AUTH_XID is the xid of the reply to an AddAuthFrame, as ZooKeeper's auth packet xid. */
export const AUTH_XID = -4;

/** ConnectRequest opens or resumes a session (ZooKeeper's ConnectRequest); the client's first frame. */
export interface ConnectRequest {
  kind: 'connectRequest';
  protocolVersion: number;
  /** lastZxidSeen: a server that has not yet applied it refuses with ZXID_AHEAD. */
  lastZxidSeen: Zxid;
  /** timeoutMs is the session timeout the client asks for; the server negotiates it. */
  timeoutMs: number;
  /** sessionId is 0 for a new session. */
  sessionId: SessionId;
  /** password is PASSWORD_BYTES bytes, zero for a new session. */
  password: Uint8Array;
  /** readOnly asks for a read-only session; absent on the wire means false. */
  readOnly: boolean;
}

/** ConnectResponse accepts a connect: the negotiated timeout and the session's id and password. */
export interface ConnectResponse {
  kind: 'connectResponse';
  protocolVersion: number;
  timeoutMs: number;
  sessionId: SessionId;
  password: Uint8Array;
  readOnly: boolean;
}

/** ConnectRefusedReason says why a server refused a connection. */
export type ConnectRefusedReason =
  | 'PROTOCOL_VERSION'
  | 'BAD_REQUEST'
  | 'SESSION_EXPIRED'
  | 'ZXID_AHEAD'
  | 'TOO_MANY_CONNECTIONS'
  | 'NOT_SERVING';

/** CONNECT_REFUSED_REASON_NUMBERS: the wire numbers of ConnectRefusedReason. */
export const CONNECT_REFUSED_REASON_NUMBERS: Readonly<Record<ConnectRefusedReason, number>> = {
  PROTOCOL_VERSION: 1,
  BAD_REQUEST: 2,
  SESSION_EXPIRED: 3,
  ZXID_AHEAD: 4,
  TOO_MANY_CONNECTIONS: 5,
  NOT_SERVING: 6,
};

/**
 * ConnectRefused answers a connect the server will not serve, then the server closes. Its shape is
 * frozen across protocol versions (it does not check `protocolVersion`), so a client of any
 * version can read why it was refused.
 */
export interface ConnectRefused {
  kind: 'connectRefused';
  /** protocolVersion is the version the server speaks. */
  protocolVersion: number;
  reason: ConnectRefusedReason;
  message: string;
}

/** RequestFrame carries one request of the session with the client's xid (replies echo it). */
export interface RequestFrame {
  kind: 'request';
  /**
   * linearizable: for a read, confirm leadership with a quorum before answering (a read barrier);
   * absent on the wire means false. zabkit's own: ZooKeeper has no such read.
   */
  linearizable?: boolean;
  xid: number;
  request: Request;
}

/**
 * AddAuthFrame adds an identity to the connection (ZooKeeper's AuthPacket, xid -4): `digest` with
 * credentials `user:password` (UTF-8). It takes effect for every frame the server reads after it;
 * the server answers with a ReplyFrame of xid AUTH_XID (error AUTH_FAILED if refused), answering
 * auth frames in the order they came. A client replays its credentials on every new connection.
 */
export interface AddAuthFrame {
  kind: 'addAuth';
  scheme: string;
  credentials: Uint8Array;
}

/** ReplyFrame answers the request with the same xid: core's Reply without the session id (the connection implies it). */
export interface ReplyFrame extends Omit<Reply, 'sessionId'> {
  kind: 'reply';
}

/** WatchEventFrame delivers one watch notification, with ZooKeeper's xid -1. */
export interface WatchEventFrame {
  kind: 'watchEvent';
  xid: typeof WATCH_EVENT_XID;
  event: WatchEvent;
}

/** Ping is the client's heartbeat when it has nothing else to send (ZooKeeper's xid -2, op 11). */
export interface Ping {
  kind: 'ping';
}
/** Pong answers a Ping. */
export interface Pong {
  kind: 'pong';
}

/** ClientMessage: every frame a client sends to a server. A session ends with a closeSession request. */
export type ClientMessage = ConnectRequest | RequestFrame | Ping | AddAuthFrame;
/** ServerMessage: every frame a server sends to a client. */
export type ServerMessage = ConnectResponse | ConnectRefused | ReplyFrame | WatchEventFrame | Pong;

const password = bytes(PASSWORD_BYTES);
/** AUTH_CREDENTIALS_BYTES_MAX: a server refuses longer credentials with AUTH_FAILED. */
export const AUTH_CREDENTIALS_BYTES_MAX = 4096;

/** replyError writes a success as 0, as ZooKeeper's ReplyHeader.err, and a failure as its error code. */
const replyError: FieldCodec<ErrorCode | null> = {
  description: 'error code or 0',
  encode: (value) => (value === null ? 0 : errorCode.encode(value)),
  decode: (value) => (value === 0 ? null : errorCode.decode(value)),
};

const watchEvent = struct<WatchEvent>('WatchEvent', {
  type: oneOf('WatchEventType', Object.values(WatchEventType)),
  path,
  zxid: int64,
});

/**
 * clientMessageSchema is the schema of client-to-server frames (kinds 1 to 15) for a server that
 * speaks `versions`: a connectRequest of another version is a CodecError on `protocolVersion`.
 */
const clientMessageSchema = schemasByRange((versions: ProtocolVersions) =>
  union<ClientMessage, 'kind'>('client message kind', 'kind', {
    connectRequest: {
      code: 1,
      fields: {
        protocolVersion: protocolVersion(versions, 'client'),
        lastZxidSeen: int64,
        timeoutMs: nonNegativeInt32,
        sessionId: int64,
        password,
        readOnly: withDefault(boolean, false),
      },
    },
    request: { code: 2, fields: { xid: int32, request, linearizable: withDefault(boolean, false) } },
    ping: { code: 3, fields: {} },
    addAuth: { code: 4, fields: { scheme: string, credentials: bytes() } },
  }),
);

/**
 * serverMessageSchema is the schema of server-to-client frames (kinds 16 to 31, so a misdirected
 * frame is an unknown kind) for a client that speaks `versions`: a connectResponse of another
 * version is a CodecError on `protocolVersion`. connectRefused's shape is frozen across versions.
 */
const serverMessageSchema = schemasByRange((versions: ProtocolVersions) =>
  union<ServerMessage, 'kind'>('server message kind', 'kind', {
    connectResponse: {
      code: 16,
      fields: {
        protocolVersion: protocolVersion(versions, 'client'),
        timeoutMs: nonNegativeInt32,
        sessionId: int64,
        password,
        readOnly: withDefault(boolean, false),
      },
    },
    connectRefused: {
      code: 17,
      fields: {
        protocolVersion: uint32,
        reason: named<ConnectRefusedReason>('connect refused reason', CONNECT_REFUSED_REASON_NUMBERS),
        message: string,
      },
    },
    reply: { code: 18, fields: { xid: int32, zxid: int64, error: replyError, result: nullable(result) } },
    watchEvent: { code: 19, fields: { xid: literal(WATCH_EVENT_XID), event: watchEvent } },
    pong: { code: 20, fields: {} },
  }),
);

/** clientMessage is the schema of client-to-server frames for CLIENT_PROTOCOL_VERSIONS. */
export const clientMessage = clientMessageSchema(CLIENT_PROTOCOL_VERSIONS);

/** serverMessage is the schema of server-to-client frames for CLIENT_PROTOCOL_VERSIONS. */
export const serverMessage = serverMessageSchema(CLIENT_PROTOCOL_VERSIONS);

/** encodeClientMessage returns the frame of a client-to-server message. */
export function encodeClientMessage(message: ClientMessage, frameBytesMax = FRAME_BYTES_MAX_DEFAULT): Uint8Array {
  return encodeMessageFrame(clientMessage, message, frameBytesMax);
}

/**
 * decodeClientMessage reads one frame body from a client as a server that speaks `versions`
 * (default CLIENT_PROTOCOL_VERSIONS); throws CodecError naming the field.
 */
export function decodeClientMessage(
  body: Uint8Array,
  versions: ProtocolVersions = CLIENT_PROTOCOL_VERSIONS,
): ClientMessage {
  return decodeMessageBody(clientMessageSchema(versions), body);
}

/** encodeServerMessage returns the frame of a server-to-client message. */
export function encodeServerMessage(message: ServerMessage, frameBytesMax = FRAME_BYTES_MAX_DEFAULT): Uint8Array {
  return encodeMessageFrame(serverMessage, message, frameBytesMax);
}

/**
 * decodeServerMessage reads one frame body from a server as a client that speaks `versions`
 * (default CLIENT_PROTOCOL_VERSIONS); throws CodecError naming the field.
 */
export function decodeServerMessage(
  body: Uint8Array,
  versions: ProtocolVersions = CLIENT_PROTOCOL_VERSIONS,
): ServerMessage {
  return decodeMessageBody(serverMessageSchema(versions), body);
}
