/**
 * DASHBOARD_HTML is the admin page: it polls every member's GET /status (the member list comes
 * from this member's status) and shows roles, zxids and the apply rate live, plus a read-only
 * browser of this member's znode tree. Plain HTML and script: nothing to build, nothing fetched
 * from outside.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>zabkit</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
  table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px #0002; }
  th, td { padding: 6px 12px; border-bottom: 1px solid #e6e8eb; text-align: left; font-variant-numeric: tabular-nums; }
  th { background: #f0f2f5; font-weight: 600; }
  .leading { color: #0a7d32; font-weight: 600; } .following { color: #1f5fbf; } .observing { color: #7a4fbf; }
  .looking, .down { color: #b3261e; font-weight: 600; }
  #spark { background: #fff; box-shadow: 0 1px 2px #0002; }
  #tree { background: #fff; box-shadow: 0 1px 2px #0002; padding: 12px; max-width: 900px; }
  #tree a { cursor: pointer; color: #1f5fbf; text-decoration: none; margin-right: 8px; }
  pre { background: #f5f6f8; padding: 8px; white-space: pre-wrap; word-break: break-all; }
  .muted { color: #6b7280; }
</style>
</head>
<body>
<h1>zabkit</h1>
<div class="muted" id="summary">loading…</div>
<h2>Members</h2>
<table id="members"><thead><tr>
  <th>member</th><th>role</th><th>phase</th><th>epoch</th><th>zxid</th><th>leader</th>
  <th>sessions</th><th>connections</th><th>znodes</th><th>applied/s</th><th>fsync p50 ms</th>
</tr></thead><tbody></tbody></table>
<h2>Throughput (transactions applied per second, this member)</h2>
<canvas id="spark" width="600" height="80"></canvas>
<h2>Znodes (read-only, this member)</h2>
<div id="tree"></div>
<script>
const rates = [];
let currentPath = '/';
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
async function json(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok && response.status !== 503 && response.status !== 404) throw new Error(response.status);
  return response.json();
}
function fsyncP50(metricsText) {
  const buckets = [...metricsText.matchAll(/zabkit_fsync_duration_seconds_bucket\\{le="([^"]+)"[^}]*\\} (\\d+)/g)];
  const count = Number((metricsText.match(/zabkit_fsync_duration_seconds_count\\{[^}]*\\} (\\d+)/) || [])[1] || 0);
  if (!count) return '';
  for (const [, le, n] of buckets) if (Number(n) >= count / 2) return le === '+Inf' ? '>1000' : String(Number(le) * 1000);
  return '';
}
async function refresh() {
  let self;
  try { self = await json('/status'); } catch (error) { document.getElementById('summary').textContent = 'admin endpoint unreachable'; return; }
  const rows = await Promise.all(self.members.map(async (m) => {
    if (m.id === self.id) return { member: m, status: self, p50: fsyncP50(await (await fetch('/metrics')).text()) };
    const base = 'http://' + location.hostname + ':' + m.adminPort;
    try { return { member: m, status: await json(base + '/status'), p50: fsyncP50(await (await fetch(base + '/metrics')).text()) }; }
    catch { return { member: m, status: null, p50: '' }; }
  }));
  const body = document.querySelector('#members tbody');
  body.innerHTML = rows.map(({ member, status, p50 }) => status
    ? '<tr data-member="' + member.id + '" data-role="' + status.role + '"><td>' + member.id + (member.role === 'observer' ? ' (observer)' : '') + '</td><td class="' + status.role + '">' + status.role + '</td><td>' + status.phase + '</td><td>' + status.epoch + '</td><td class="zxid">' + status.zxid + '</td><td>' + (status.leader ?? '–') + '</td><td>' + status.sessions + '</td><td>' + status.connections + '</td><td>' + status.znodes + '</td><td>' + Math.round(status.appliedPerSecond) + '</td><td>' + p50 + '</td></tr>'
    : '<tr data-member="' + member.id + '" data-role="down"><td>' + member.id + '</td><td class="down">down</td><td colspan="9" class="muted">no answer from admin port ' + member.adminPort + '</td></tr>').join('');
  const leader = rows.find((r) => r.status && r.status.role === 'leading');
  document.getElementById('summary').textContent = (leader ? 'leader: member ' + leader.member.id + ', epoch ' + leader.status.epoch + ', zxid ' + leader.status.zxid : 'no leader') + ' — this page: member ' + self.id;
  rates.push(self.appliedPerSecond); if (rates.length > 120) rates.shift();
  const canvas = document.getElementById('spark'); const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...rates); g.strokeStyle = '#1f5fbf'; g.beginPath();
  rates.forEach((r, i) => { const x = (i / 119) * canvas.width; const y = canvas.height - (r / max) * (canvas.height - 10) - 5; i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke(); g.fillStyle = '#6b7280'; g.fillText(Math.round(max) + '/s', 4, 12);
}
async function browse(path) {
  currentPath = path;
  const node = await json('/api/tree?path=' + encodeURIComponent(path));
  const tree = document.getElementById('tree');
  if (node.error) { tree.innerHTML = '<div class="muted">' + esc(path) + ': ' + esc(node.error) + '</div>'; return; }
  const parent = path === '/' ? null : (path.slice(0, path.lastIndexOf('/')) || '/');
  const child = (name) => (path === '/' ? '' : path) + '/' + name;
  tree.innerHTML = '<div><b>' + esc(path) + '</b> ' + (parent ? '<a data-path="' + esc(parent) + '">[up]</a>' : '') + '</div>'
    + '<div class="muted">version ' + node.stat.version + ', ' + node.dataLength + ' bytes, ' + node.children.length + ' children, mzxid 0x' + node.stat.mzxid.toString(16) + '</div>'
    + (node.dataLength ? '<pre>' + esc(node.data) + '</pre>' : '')
    + '<div id="children">' + node.children.map((name) => '<a data-path="' + esc(child(name)) + '">' + esc(name) + '</a>').join('') + '</div>';
  tree.querySelectorAll('a[data-path]').forEach((a) => a.addEventListener('click', () => browse(a.dataset.path)));
}
refresh(); browse('/');
setInterval(refresh, 1000);
setInterval(() => browse(currentPath), 3000);
</script>
</body>
</html>
`;
