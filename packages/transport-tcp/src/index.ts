export type { BackoffOptions } from './backoff.js';
export { BACKOFF_DEFAULTS, backoffDelayMs } from './backoff.js';
export type { ClientConnectionOptions, SessionServerMessage } from './client-connection.js';
export { ClientConnection } from './client-connection.js';
export type { ClientListenerOptions, ClientListenerStats } from './client-listener.js';
export { ClientListener, FOUR_LETTER_WORDS } from './client-listener.js';
export type { SuperUser } from './connection-auth.js';
export { CONNECTION_IDS_MAX, ConnectionAuth, digestId, normalizeAddress, x509Id } from './connection-auth.js';
export type { TransportErrorCode } from './errors.js';
export { TransportError } from './errors.js';
export type { FramedSocketOptions } from './framed-socket.js';
export {
  FRAME_TIMEOUT_MS_DEFAULT,
  FramedSocket,
  HELD_BYTES_MAX_DEFAULT,
  SEND_QUEUE_BYTES_MAX_DEFAULT,
} from './framed-socket.js';
export type { TransportLogger } from './logger.js';
export { SILENT_LOGGER } from './logger.js';
export { PARTIAL_FRAME_BYTES_MAX_DEFAULT, PartialFrameBudget } from './partial-frame-budget.js';
export type { PeerRole, PeerTranscript } from './peer-auth.js';
export { PEER_NONCE_BYTES, PEER_SECRET_BYTES_MIN, peerProof, transcriptBytes, verifyPeerProof } from './peer-auth.js';
export type { PeerAddress, PeerMeshOptions, PeerStatus } from './peer-mesh.js';
export { PeerMesh } from './peer-mesh.js';
export type { PeerTlsOptions } from './peer-tls.js';
export { MEMBER_NAME_PREFIX, memberCertificateName, x509Names } from './peer-tls.js';
export type { PeerTransport } from './peer-transport.js';
export type { SessionClientMessage, SessionReply } from './server-connection.js';
export { ServerConnection } from './server-connection.js';
export type { ClientCertificates, PemInput, TlsClientOptions, TlsServerOptions } from './tls-options.js';
export { ZooKeeperConnection } from './zookeeper-connection.js';
