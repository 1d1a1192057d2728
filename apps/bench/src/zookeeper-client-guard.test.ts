import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { unparsedReplies } from './zookeeper-client-guard.js';

const require = createRequire(import.meta.url);
const { prototype } = require('node-zookeeper-client/lib/ConnectionManager.js') as {
  prototype: { onSocketData(this: unknown, buffer: Buffer): void };
};

describe('node-zookeeper-client guard', () => {
  it('drops the connection of a reply the client cannot parse instead of throwing from the socket handler', () => {
    // A frame of length 0 after the connect: the client reads a reply header past its end (the F1 crash).
    const destroy = vi.fn();
    const connection = { pendingBuffer: null, state: 'connected', socket: { destroy } };
    const before = unparsedReplies();
    expect(() => prototype.onSocketData.call(connection, Buffer.from([0, 0, 0, 0]))).not.toThrow();
    expect(destroy).toHaveBeenCalledWith(
      expect.objectContaining({ message: expect.stringMatching(/out of buffer range/) }),
    );
    expect(connection.pendingBuffer).toBeNull();
    expect(unparsedReplies()).toBe(before + 1);
  });
});
