// pnpm --filter @zabkit/transport-tcp bench [--runs N] [--messages N]
// Messages/s and MB/s of ~1 KiB frames over one loopback connection (PeerMesh to PeerMesh,
// encode and decode included), beside the codec's encode and decode rates and msgpackr's raw
// pack + unpack of the same message. Prints medians of several runs; asserts nothing.
import { decodePeerMessage, encodePeerMessage, FrameDecoder, peerMessage } from '@zabkit/codec';
import type { PeerMessage } from '@zabkit/core';
import { Packr, Unpackr } from 'msgpackr';
import { PeerMesh } from '../src/peer-mesh.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
}
const runs = option('runs', 5);
const messages = option('messages', 200_000);

const message: PeerMessage = {
  type: 'proposal',
  epoch: 3,
  entries: [
    {
      zxid: 3 * 2 ** 32 + 17,
      sessionId: 2 ** 40 + 5,
      cxid: 42,
      timeMs: 1_700_000_000_000,
      txn: { type: 'setData', path: '/service/config', data: new Uint8Array(965).fill(0x5a), version: 7 },
    },
  ],
};
const frameBytes = encodePeerMessage(message).length;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const rate = (count: number, ms: number) => (count / ms) * 1000;

function timeLoop(count: number, body: () => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) body();
  return rate(count, performance.now() - started);
}

// msgpackr's raw rates, no schema, no checks, no frame: (1) the message object as it is, as
// plain msgpackr use would send it (maps with keys, zxids as float64); (2) the same positional
// array the codec writes (the floor: what msgpackr alone costs for these bytes).
const rawPackr = new Packr({ useRecords: false, int64AsType: 'bigint' });
const rawUnpackr = new Unpackr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });
const objectValue = message;
const objectBody = rawPackr.pack(objectValue);
const arrayValue = peerMessage.encode(message);
const arrayBody = rawPackr.pack(arrayValue);

function benchCodec() {
  const count = messages;
  const rawPack = timeLoop(count, () => rawPackr.pack(objectValue));
  const rawUnpack = timeLoop(count, () => rawUnpackr.unpack(objectBody));
  const rawArrayPack = timeLoop(count, () => rawPackr.pack(arrayValue));
  const rawArrayUnpack = timeLoop(count, () => rawUnpackr.unpack(arrayBody));
  const frame = encodePeerMessage(message);
  const encode = timeLoop(count, () => encodePeerMessage(message));
  const decoder = new FrameDecoder();
  const decode = timeLoop(count, () => {
    for (const body of decoder.push(frame)) decodePeerMessage(body);
  });
  return { rawPack, rawUnpack, rawArrayPack, rawArrayUnpack, encode, decode };
}

async function benchTransport(): Promise<number> {
  const a = new PeerMesh({ serverId: 1, listen: { host: '127.0.0.1', port: 0 } });
  const b = new PeerMesh({ serverId: 2, listen: { host: '127.0.0.1', port: 0 } });
  const pa = await a.start();
  const pb = await b.start();
  const peers = [
    { id: 1, host: '127.0.0.1', port: pa.port },
    { id: 2, host: '127.0.0.1', port: pb.port },
  ];
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  a.onMessage(() => {
    if (++received === messages) done();
  });
  const up = new Promise<void>((resolve) => b.onPeerUp(() => resolve()));
  a.setPeers(peers);
  b.setPeers(peers);
  await up;
  const started = performance.now();
  // Send in bursts of 256 per turn, keeping at most ~4 MiB in flight (the queue bound is 8 MiB).
  let sent = 0;
  while (sent < messages) {
    if (b.queuedBytes(1) < 4 * 1024 * 1024) {
      for (let i = 0; i < 256 && sent < messages; i++, sent++) b.send(1, message);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const elapsed = performance.now() - started;
  await a.close();
  await b.close();
  return rate(messages, elapsed);
}

const codecRuns: ReturnType<typeof benchCodec>[] = [];
const transportRuns: number[] = [];
for (let run = 0; run < runs; run++) {
  codecRuns.push(benchCodec());
  transportRuns.push(await benchTransport());
}
const pick = (key: keyof ReturnType<typeof benchCodec>) => median(codecRuns.map((r) => r[key]));
const perMessageUs = (pack: number, unpack: number) => 1e6 / pack + 1e6 / unpack;
const rawObjectUs = perMessageUs(pick('rawPack'), pick('rawUnpack'));
const rawArrayUs = perMessageUs(pick('rawArrayPack'), pick('rawArrayUnpack'));
const codecUs = perMessageUs(pick('encode'), pick('decode'));
const transport = median(transportRuns);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const over = (us: number, base: number) => `${us / base >= 1 ? '+' : ''}${((us / base - 1) * 100).toFixed(0)}%`;
console.log(
  `message: proposal of one setData with 965 bytes of data; frame ${frameBytes} bytes (msgpackr object ${objectBody.length} bytes)`,
);
console.log(`${messages} messages per run; medians of ${runs} runs`);
console.log(
  `msgpackr raw, object  pack ${fmt(pick('rawPack'))}/s  unpack ${fmt(pick('rawUnpack'))}/s  ${rawObjectUs.toFixed(2)} µs/message`,
);
console.log(
  `msgpackr raw, array   pack ${fmt(pick('rawArrayPack'))}/s  unpack ${fmt(pick('rawArrayUnpack'))}/s  ${rawArrayUs.toFixed(2)} µs/message`,
);
console.log(
  `codec (frame+schema)  encode ${fmt(pick('encode'))}/s  decode ${fmt(pick('decode'))}/s  ${codecUs.toFixed(2)} µs/message (${over(codecUs, rawObjectUs)} vs raw object, ${over(codecUs, rawArrayUs)} vs raw array)`,
);
console.log(
  `loopback PeerMesh     ${fmt(transport)} messages/s  ${((transport * frameBytes) / 1e6).toFixed(1)} MB/s  ${(1e6 / transport).toFixed(2)} µs/message end to end (${over(1e6 / transport, rawObjectUs)} vs raw object)`,
);
console.log(`all runs, loopback: ${transportRuns.map(fmt).join(', ')} messages/s`);
