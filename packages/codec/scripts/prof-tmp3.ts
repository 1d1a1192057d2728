import { Packr, Unpackr } from 'msgpackr';
import { unpackBody } from '../src/msgpack.js';
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
} as never;
const rawPackr = new Packr({ useRecords: false, int64AsType: 'bigint' });
const rawUnpackr = new Unpackr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });
const wire = peerMessage.encode(message);
const rawBody = rawPackr.pack(wire);
const frame = encodePeerMessage(message);
const body = frame.subarray(4);
const N = 300000;
function t(name: string, f: () => unknown) {
  const s = performance.now();
  for (let i = 0; i < N; i++) f();
  return [name, ((performance.now() - s) * 1000) / N] as const;
}
const results = new Map<string, number[]>();
for (let r = 0; r < 7; r++) {
  for (const [name, us] of [
    t('raw pack', () => rawPackr.pack(wire)),
    t('raw unpack', () => rawUnpackr.unpack(rawBody)),
    t('encode', () => encodePeerMessage(message)),
    t('decode', () => decodePeerMessage(body)),
    t('unpackBody', () => unpackBody(body)),
    t('schema encode', () => peerMessage.encode(message)),
  ]) {
    if (!results.has(name)) results.set(name, []);
    results.get(name)!.push(us);
  }
}
for (const [name, v] of results) console.log(name.padEnd(14), v.sort((a, b) => a - b)[3]!.toFixed(3), 'µs');
