import { deriveLimits, type Limits, peerSendQueueBytesMax } from '@zabkit/core';

/**
 * SIM_DATA_BYTES_MAX is the simulator's znode data limit: 64 KiB instead of the server's 1 MiB, so
 * seeds that fill values to the limit stay fast. Every other limit follows from it the way the
 * server's defaults follow from 1 MiB, through core's {@link deriveLimits}: the same code paths
 * (byte-bounded batches, windowed sync streams, MARSHALLING_ERROR replies) at a sixteenth of the
 * size.
 */
export const SIM_DATA_BYTES_MAX = 64 * 1024;

/**
 * SIM_REQUEST_BYTES_INFLIGHT_MAX stands for the server's requestBytesInflightMax (16 MiB beside
 * 1 MiB of data): the client request bytes a member forwards and has not answered; it sizes the
 * peer send queue.
 */
export const SIM_REQUEST_BYTES_INFLIGHT_MAX = 16 * SIM_DATA_BYTES_MAX;

/**
 * simLimits derives the limits every simulated member and its machine share (one object per
 * simulation): the server's defaults scaled to {@link SIM_DATA_BYTES_MAX}. The client frame keeps
 * the server's 64 KiB of headroom over the data (a path of pathBytesMax must fit beside it);
 * proposals in flight and history are 16 and 64 times the data limit, as 16 MiB and 64 MiB are
 * beside 1 MiB.
 */
export function simLimits(dataBytesMax = SIM_DATA_BYTES_MAX): Limits {
  return deriveLimits({
    dataBytesMax,
    clientFrameBytesMax: dataBytesMax + 64 * 1024,
    proposalBytesInflightMax: 16 * dataBytesMax,
    historyBytesMax: 64 * dataBytesMax,
  });
}

/**
 * simPeerSendQueueBytesMax is what one simulated connection may hold (sent, not yet delivered)
 * before it breaks, as TCP's SEND_QUEUE_FULL: core's formula, with the request budget above.
 */
export function simPeerSendQueueBytesMax(limits: Limits): number {
  return peerSendQueueBytesMax(limits, SIM_REQUEST_BYTES_INFLIGHT_MAX);
}
