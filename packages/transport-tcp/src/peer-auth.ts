import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** PEER_SECRET_BYTES_MIN: a shared secret shorter than this is refused (HMAC-SHA256's own key strength). */
export const PEER_SECRET_BYTES_MIN = 32;

/** PEER_NONCE_BYTES: each end's fresh challenge. */
export const PEER_NONCE_BYTES = 32;

/** PeerRole is which end of a peer connection is proving itself: the one that dialed or the one that accepted. */
export type PeerRole = 'dialer' | 'acceptor';

/** PeerTranscript is what a proof binds: both ids, both nonces and the protocol version. */
export interface PeerTranscript {
  protocolVersion: number;
  dialerId: number;
  acceptorId: number;
  dialerNonce: Uint8Array;
  acceptorNonce: Uint8Array;
}

const DOMAIN = Buffer.from('zabkit peer auth\0', 'latin1');
const ROLE_LABELS: Readonly<Record<PeerRole, Buffer>> = {
  dialer: Buffer.from('dialer\0\0', 'latin1'),
  acceptor: Buffer.from('acceptor', 'latin1'),
};

/** newPeerNonce returns 32 fresh random bytes (node:crypto), never reused. */
export function newPeerNonce(): Uint8Array {
  return new Uint8Array(randomBytes(PEER_NONCE_BYTES));
}

/**
 * transcriptBytes is the fixed-layout message a proof is the HMAC of:
 * "zabkit peer auth\0" (17 bytes), the role label (8 bytes: "dialer\0\0" or "acceptor"), the
 * protocol version (uint32 BE), the dialer's id and the acceptor's id (uint64 BE each), the
 * dialer's nonce and the acceptor's nonce (32 bytes each). Every field has a fixed length, so no
 * two different transcripts share bytes.
 */
export function transcriptBytes(role: PeerRole, transcript: PeerTranscript): Buffer {
  if (transcript.dialerNonce.length !== PEER_NONCE_BYTES || transcript.acceptorNonce.length !== PEER_NONCE_BYTES) {
    throw new RangeError(`peer nonces must be ${PEER_NONCE_BYTES} bytes`);
  }
  const numbers = Buffer.alloc(4 + 8 + 8);
  numbers.writeUInt32BE(transcript.protocolVersion, 0);
  numbers.writeBigUInt64BE(BigInt(transcript.dialerId), 4);
  numbers.writeBigUInt64BE(BigInt(transcript.acceptorId), 12);
  return Buffer.concat([DOMAIN, ROLE_LABELS[role], numbers, transcript.dialerNonce, transcript.acceptorNonce]);
}

/** peerProof is `role`'s proof that it knows `secret`: HMAC-SHA256(secret, transcriptBytes(role, transcript)). */
export function peerProof(secret: Uint8Array, role: PeerRole, transcript: PeerTranscript): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update(transcriptBytes(role, transcript)).digest());
}

/**
 * verifyPeerProof tells whether `proof` is `role`'s proof over this transcript, comparing in
 * constant time (crypto.timingSafeEqual). A proof made for another nonce (a replay) or for the
 * other role (a reflection) does not verify.
 */
export function verifyPeerProof(
  secret: Uint8Array,
  role: PeerRole,
  transcript: PeerTranscript,
  proof: Uint8Array,
): boolean {
  const expected = peerProof(secret, role, transcript);
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}
