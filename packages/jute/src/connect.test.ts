import { describe, expect, it } from 'vitest';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest, encodeConnectResponse } from './connect.js';
import { JuteError } from './errors.js';
import { sampleConnectRequests, sampleConnectResponses } from './fixtures.js';

const body = (frame: Uint8Array) => frame.subarray(4);

function juteError(run: () => unknown): JuteError {
  try {
    run();
  } catch (error) {
    if (JuteError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a JuteError');
}

describe('the session handshake', () => {
  it.each(sampleConnectRequests.map((r, i) => [i, r] as const))(
    'round-trips ConnectRequest sample %i',
    (_, request) => {
      const frame = encodeConnectRequest(request);
      expect(frame.length).toBe(4 + 4 + 8 + 4 + 8 + 4 + request.password.length + (request.readOnlySent ? 1 : 0));
      expect(decodeConnectRequest(body(frame))).toEqual(request);
    },
  );

  it.each(sampleConnectResponses.map((r, i) => [i, r] as const))(
    'round-trips ConnectResponse sample %i',
    (_, { response, withReadOnly }) => {
      const decoded = decodeConnectResponse(body(encodeConnectResponse(response, withReadOnly)));
      expect(decoded).toEqual({
        ...response,
        readOnly: withReadOnly && response.readOnly,
        readOnlySent: withReadOnly,
      });
    },
  );

  it('answers a client the way it asked: readOnlySent decides the response’s trailing byte', () => {
    for (const request of sampleConnectRequests) {
      const decoded = decodeConnectRequest(body(encodeConnectRequest(request)));
      const response = {
        protocolVersion: 0,
        timeoutMs: 5000,
        sessionId: 9,
        password: new Uint8Array(16),
        readOnly: false,
      };
      const frame = encodeConnectResponse(response, decoded.readOnlySent);
      expect(decodeConnectResponse(body(frame)).readOnlySent).toBe(request.readOnlySent);
    }
  });

  it('reads a null password (-1) as empty', () => {
    const frame = encodeConnectRequest({ ...(sampleConnectRequests[2] as (typeof sampleConnectRequests)[2]) });
    const bytes = body(frame).slice();
    new DataView(bytes.buffer).setInt32(24, -1);
    expect(decodeConnectRequest(bytes).password).toEqual(new Uint8Array(0));
  });

  it('refuses a session id or zxid outside the safe integers, a bad readOnly byte, trailing bytes', () => {
    const good = body(encodeConnectRequest(sampleConnectRequests[0] as (typeof sampleConnectRequests)[0])).slice();
    const at = (patch: (view: DataView) => void) => {
      const bytes = good.slice();
      patch(new DataView(bytes.buffer));
      return juteError(() => decodeConnectRequest(bytes));
    };
    // A ZooKeeper-made session id (server id in the top byte) is far above 2^53.
    expect(at((v) => v.setBigInt64(16, 0x0100_0000_0000_0001n)).field).toBe('sessionId');
    expect(at((v) => v.setBigInt64(4, 2n ** 53n)).field).toBe('lastZxidSeen');
    expect(at((v) => v.setBigInt64(4, -(2n ** 53n))).reason).toMatch(/safe integer/);
    expect(at((v) => v.setUint8(44, 2)).field).toBe('readOnly');
    expect(juteError(() => decodeConnectRequest(Uint8Array.from([...good, 0]))).field).toBe('body');
    const edge = good.slice();
    new DataView(edge.buffer).setBigInt64(4, -(2n ** 53n) + 1n);
    expect(decodeConnectRequest(edge).lastZxidSeen).toBe(-(2 ** 53) + 1);
  });

  it('refuses to write readOnly true without the byte, or a long that is not safe', () => {
    const request = sampleConnectRequests[2] as (typeof sampleConnectRequests)[2];
    expect(juteError(() => encodeConnectRequest({ ...request, readOnly: true })).field).toBe('readOnly');
    expect(juteError(() => encodeConnectRequest({ ...request, sessionId: 2 ** 53 })).field).toBe('sessionId');
  });
});
