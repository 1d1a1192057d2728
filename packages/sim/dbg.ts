import { simulationFor } from './src/run-seeds.js';

const seed = Number(process.argv[2]);
const sim = simulationFor(seed, 3, 0, { membership: true, traceSize: 8000 });
const s: any = sim;
const dump = () => {
  for (const srv of s.servers) {
    const p = srv.peer;
    if (!p) {
      console.log(srv.id, 'down');
      continue;
    }
    const st = p.status();
    console.log(
      s.now,
      srv.id,
      st.role,
      st.phase,
      st.leader,
      st.epoch,
      'acc',
      st.acceptedEpoch,
      JSON.stringify(
        p.configs().map((c: any) => [c.version.toString(16), c.members.map((m: any) => m.id + m.role[0]).join(' ')]),
      ),
      st.committedZxid.toString(16),
      st.lastLoggedZxid.toString(16),
    );
  }
};
for (const t of (process.argv[3] ?? '').split(',').filter(Boolean).map(Number))
  s.queue.push(t, { kind: 'episode', action: dump });
try {
  await sim.run();
} catch (e: any) {
  console.log(e.message);
  const pat = new RegExp(process.argv[4] ?? 'reconfig');
  for (const l of s.trace) if (pat.test(l)) console.log(l);
}
