import { FrameDecoder } from '../src/frame.js';
import { packBody, unpackBody } from '../src/msgpack.js';
import { decodePeerMessage, encodePeerMessage, peerMessage } from '../src/peer-protocol.js';

const message = {
  type: 'proposal',
  epoch: 3,
  entries: [
    {
      zxid: 3 * 2 ** 32 + 17,
      sessionId: 2 ** 40 + 5,
      cxid: 42,
      timeMs: 1_700_000_000_000,
      txn: { type: 'setData', path: '/service/config', data: new Uint8Array(900).fill(0x5a), version: 7 },
    },
  ],
} as const;
const N = 400000;
const t = (name: string, f: () => void) => {
  for (let i = 0; i < 20000; i++) f();
  const s = performance.now();
  for (let i = 0; i < N; i++) f();
  console.log(name, (((performance.now() - s) * 1000) / N).toFixed(3), 'µs');
};
const wire = peerMessage.encode(message as never);
const body = packBody(wire);
const frame = encodePeerMessage(message as never);
t('schema encode', () => peerMessage.encode(message as never));
t('pack', () => packBody(wire));
t('encodePeerMessage', () => encodePeerMessage(message as never));
t('unpack', () => unpackBody(body));
const un = unpackBody(body);
t('schema decode', () => peerMessage.decode(un));
const d = new FrameDecoder();
t('framedecoder', () => d.push(frame));
t('decodePeerMessage', () => decodePeerMessage(body));
t('BigInt x3', () => {
  BigInt(12884901905);
  BigInt(1099511627781);
  BigInt(1700000000000);
});
t('copy 900', () => new Uint8Array(message.entries[0].txn.data));
