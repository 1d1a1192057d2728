export type {
  AddAuthFrame,
  ClientMessage,
  ConnectRefused,
  ConnectRefusedReason,
  ConnectRequest,
  ConnectResponse,
  Ping,
  Pong,
  ReplyFrame,
  RequestFrame,
  ServerMessage,
  WatchEventFrame,
} from './client-protocol.js';
export {
  AUTH_CREDENTIALS_BYTES_MAX,
  AUTH_XID,
  CLIENT_PROTOCOL_VERSION,
  CLIENT_PROTOCOL_VERSIONS,
  CONNECT_REFUSED_REASON_NUMBERS,
  clientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  PASSWORD_BYTES,
  serverMessage,
  WATCH_EVENT_XID,
} from './client-protocol.js';
export { CodecError } from './errors.js';
export type { FrameDecoderBudget } from './frame.js';
export { encodeFrame, FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES, FrameDecoder } from './frame.js';
export { decodeMessageBody, encodeMessageFrame } from './message.js';
export { OP_CODES } from './op-codes.js';
export type {
  PeerAuthMode,
  PeerHandshake,
  PeerHandshakeMessage,
  PeerHandshakeProof,
  PeerHandshakeRefused,
  PeerHandshakeRefusedReason,
} from './peer-protocol.js';
export {
  decodePeerHandshake,
  decodePeerMessage,
  encodePeerHandshake,
  encodePeerMessage,
  forwardedRequest,
  PEER_AUTH_MODE_NUMBERS,
  PEER_HANDSHAKE_REFUSED_REASON_NUMBERS,
  PEER_PROTOCOL_VERSION,
  PEER_PROTOCOL_VERSIONS,
  PEER_STATE_NUMBERS,
  peerHandshake,
  peerMessage,
  SYNC_MODE_NUMBERS,
} from './peer-protocol.js';
export type { ProtocolVersions } from './protocol-version.js';
export {
  checkProtocolVersions,
  describeProtocolVersions,
  fallbackProtocolVersion,
  protocolVersion,
  speaksProtocolVersion,
} from './protocol-version.js';
export {
  AUTH_IDS_MAX,
  acl,
  aclOrOpen,
  authId,
  authIds,
  decodeLogEntry,
  decodeSnapshotRecord,
  encodeLogEntry,
  encodeSnapshotRecord,
  errorCode,
  logEntry,
  snapshotHeader,
  snapshotRecord,
  stat,
  txn,
} from './records.js';
export { multiOp, multiReadOp, request, requestVariants } from './requests.js';
export { multiOpResult, multiReadOpResult, result } from './results.js';
export type { FieldCodec, Fields, UnionCodec, Variant, Variants } from './schema.js';
export {
  array,
  boolean,
  bytes,
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
