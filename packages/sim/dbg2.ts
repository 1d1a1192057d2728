import { simulationFor } from './src/run-seeds.js';

const seed = Number(process.argv[2]);
const sim = simulationFor(seed, 3, 0, { membership: true, traceSize: 100 });
const s: any = sim;
const from = Number(process.argv[3]),
  to = Number(process.argv[4]);
const origSend = s.sendMessage.bind(s);
s.sendMessage = (a: number, b: number, m: any) => {
  if (
    s.now >= from &&
    s.now <= to &&
    m.type !== 'ping' &&
    m.type !== 'proposal' &&
    m.type !== 'ack' &&
    m.type !== 'commit' &&
    m.type !== 'inform'
  )
    console.log(
      s.now,
      `${a}->${b}`,
      m.type,
      m.state ?? '',
      'leader',
      m.leader ?? '',
      'z',
      (m.zxid ?? 0).toString(16),
      'pe',
      m.peerEpoch ?? '',
      'r',
      m.electionEpoch ?? '',
      'ep',
      m.epoch ?? '',
    );
  return origSend(a, b, m);
};
const origObs = s.observeStatus.bind(s);
const last = new Map();
s.observeStatus = (srv: any) => {
  origObs(srv);
  if (s.now >= from && s.now <= to) {
    const st = srv.peer.status();
    const k = `${st.role}/${st.phase}/${st.leader}`;
    if (last.get(srv.id) !== k) {
      last.set(srv.id, k);
      console.log(
        s.now,
        'STATUS',
        srv.id,
        k,
        JSON.stringify(srv.peer.configs().map((c: any) => c.version.toString(16))),
      );
    }
  }
};
try {
  await sim.run();
} catch (e: any) {
  console.log(e.message);
}
