import { createHash } from 'node:crypto';

/**
 * DASHBOARD_SCRIPT is the dashboard's only script. It polls every member's GET /status and
 * GET /api/latency (the member list comes from this member's status; the others are asked on the
 * page's own host name at their admin ports) and draws roles, zxids, throughput and latency live,
 * plus a read-only browser of this member's znode tree. When GET /api/tree answers 401 the tree
 * panel asks for the admin token, keeps it in sessionStorage (this tab, this member's origin) and
 * sends it as `Authorization: Bearer …`; the 2 s refresh leaves the question alone while it is
 * open. Stable hooks for tests and scripts: `tr[data-member][data-role][data-zxid]` per member,
 * `#tree [data-path]` per child, `#token-input` and `#token-submit` for the token.
 */
const DASHBOARD_SCRIPT = `
const HISTORY = 120;
const rates = [];
const latencies = [];
let currentPath = '/';
const TOKEN_KEY = 'zabkit-admin-token';
let askingToken = false;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const ms = (v) => (v === null || v === undefined ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(1));
async function json(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok && response.status !== 503 && response.status !== 404) throw new Error(String(response.status));
  return response.json();
}
async function memberRow(self, member) {
  const base = member.id === self.id ? '' : location.protocol + '//' + location.hostname + ':' + member.adminPort;
  try {
    const [status, latency] = await Promise.all([
      member.id === self.id ? self : json(base + '/status'),
      json(base + '/api/latency'),
    ]);
    return { member, status, latency };
  } catch {
    return { member, status: null, latency: null };
  }
}
function cell(field, text, cls) {
  return '<td data-field="' + field + '"' + (cls ? ' class="' + cls + '"' : '') + '>' + esc(text) + '</td>';
}
function renderRow({ member, status, latency }) {
  const name = member.id + (member.role === 'observer' ? ' (observer)' : '');
  if (!status) {
    return '<tr data-member="' + member.id + '" data-role="down">' + cell('member', name)
      + cell('role', 'down', 'down') + '<td colspan="11" class="muted">no answer from admin port ' + member.adminPort + '</td></tr>';
  }
  const requests = latency ? latency.requests : { perSecond: 0, p50Ms: null, p99Ms: null };
  return '<tr data-member="' + member.id + '" data-role="' + esc(status.role) + '" data-zxid="' + esc(status.zxid) + '">'
    + cell('member', name) + cell('role', status.role, status.role) + cell('phase', status.phase)
    + cell('epoch', status.epoch) + cell('zxid', status.zxid, 'zxid') + cell('leader', status.leader ?? '–')
    + cell('sessions', status.sessions) + cell('znodes', status.znodes)
    + cell('applied', Math.round(status.appliedPerSecond)) + cell('requests', Math.round(requests.perSecond))
    + cell('latency', ms(requests.p50Ms) + ' / ' + ms(requests.p99Ms))
    + cell('commit', latency ? ms(latency.commit.p50Ms) : '–') + cell('fsync', latency ? ms(latency.fsync.p50Ms) : '–')
    + '</tr>';
}
function spark(id, series, colors, unit) {
  const canvas = document.getElementById(id);
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...series.flat().filter((v) => v !== null));
  series.forEach((values, k) => {
    g.strokeStyle = colors[k];
    g.beginPath();
    let drawing = false;
    values.forEach((v, i) => {
      if (v === null) { drawing = false; return; }
      const x = ((HISTORY - values.length + i) / (HISTORY - 1)) * canvas.width;
      const y = canvas.height - (v / max) * (canvas.height - 16) - 4;
      drawing ? g.lineTo(x, y) : g.moveTo(x, y);
      drawing = true;
    });
    g.stroke();
  });
  g.fillStyle = '#6b7280';
  g.font = '11px system-ui, sans-serif';
  g.fillText((max < 10 ? max.toFixed(2) : Math.round(max)) + ' ' + unit, 4, 12);
}
async function refresh() {
  let self;
  try {
    self = await json('/status');
  } catch {
    document.getElementById('summary').textContent = 'admin endpoint unreachable';
    return;
  }
  const rows = await Promise.all(self.members.map((member) => memberRow(self, member)));
  document.querySelector('#members tbody').innerHTML = rows.map(renderRow).join('');
  const leader = rows.find((r) => r.status && r.status.role === 'leading' && r.status.established);
  const summary = document.getElementById('summary');
  summary.dataset.leader = leader ? String(leader.member.id) : '';
  summary.textContent = (leader
    ? 'leader: member ' + leader.member.id + ', epoch ' + leader.status.epoch + ', zxid ' + leader.status.zxid
    : 'no established leader') + ' — this page: member ' + self.id + ' (' + self.role + ')';
  const config = document.getElementById('config');
  config.dataset.version = self.config.version;
  config.textContent = 'configuration version ' + self.config.version + (self.config.committed ? '' : ' (change pending)')
    + ': ' + self.members.length + ' members, ' + self.members.filter((m) => m.role === 'voter').length + ' voters';
  const own = rows.find((r) => r.member.id === self.id);
  rates.push(self.appliedPerSecond);
  latencies.push(own && own.latency ? [own.latency.requests.p50Ms, own.latency.requests.p99Ms] : [null, null]);
  if (rates.length > HISTORY) rates.shift();
  if (latencies.length > HISTORY) latencies.shift();
  spark('throughput', [rates], ['#1f5fbf'], 'tx/s');
  spark('latency', [latencies.map((l) => l[0]), latencies.map((l) => l[1])], ['#0a7d32', '#b3261e'], 'ms');
}
function askToken(message) {
  askingToken = true;
  const tree = document.getElementById('tree');
  tree.innerHTML = '<div class="muted" id="token-reason">' + esc(message) + '</div>'
    + '<div id="token-form"><input id="token-input" type="password" autocomplete="off" placeholder="admin token">'
    + ' <button id="token-submit" type="button">Open</button></div>';
  const input = document.getElementById('token-input');
  const submit = () => {
    if (!input.value) return;
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    askingToken = false;
    browse(currentPath);
  };
  document.getElementById('token-submit').addEventListener('click', submit);
  input.addEventListener('keydown', (event) => { if (event.key === 'Enter') submit(); });
  input.focus();
}
async function browse(path, polling) {
  if (polling && askingToken) return;
  currentPath = path;
  const tree = document.getElementById('tree');
  let node;
  try {
    const sent = sessionStorage.getItem(TOKEN_KEY);
    const headers = sent ? { authorization: 'Bearer ' + sent } : {};
    const response = await fetch('/api/tree?path=' + encodeURIComponent(path), { cache: 'no-store', headers });
    node = await response.json();
    // The token changed while this was in flight: the browse that sent the new one answers.
    if (sent !== sessionStorage.getItem(TOKEN_KEY)) return;
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      const reason = String(node.error || 'this member needs its admin token');
      askToken(reason.charAt(0).toUpperCase() + reason.slice(1));
      return;
    }
  } catch {
    tree.innerHTML = '<div class="muted">tree unreachable</div>';
    return;
  }
  if (askingToken) return;
  if (node.error) {
    tree.innerHTML = '<div class="muted">' + esc(path) + ': ' + esc(node.error) + ' <a data-path="/">[root]</a></div>';
  } else {
    const parent = path === '/' ? null : path.slice(0, path.lastIndexOf('/')) || '/';
    const child = (name) => (path === '/' ? '' : path) + '/' + name;
    const stat = node.stat;
    tree.innerHTML = '<div><b id="tree-path">' + esc(path) + '</b> ' + (parent ? '<a data-path="' + esc(parent) + '">[up]</a>' : '') + '</div>'
      + '<div class="muted">' + (stat ? 'version ' + stat.version + ', mzxid 0x' + stat.mzxid.toString(16) + ', ' : '')
      + node.dataLength + ' bytes, ' + node.children.length + ' children</div>'
      + (node.dataLength ? '<pre>' + esc(node.data) + (node.dataLength > 4096 ? '\\n…' : '') + '</pre>' : '')
      + '<div id="children">' + node.children.slice().sort().map((name) => '<a data-path="' + esc(child(name)) + '">' + esc(name) + '</a>').join('') + '</div>';
  }
  tree.querySelectorAll('a[data-path]').forEach((a) => a.addEventListener('click', () => browse(a.dataset.path)));
}
refresh();
browse('/');
setInterval(refresh, 1000);
setInterval(() => browse(currentPath, true), 2000);
`;

const DASHBOARD_STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
  table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px #0002; }
  th, td { padding: 6px 12px; border-bottom: 1px solid #e6e8eb; text-align: left; font-variant-numeric: tabular-nums; }
  th { background: #f0f2f5; font-weight: 600; }
  .leading { color: #0a7d32; font-weight: 600; } .following { color: #1f5fbf; } .observing { color: #7a4fbf; }
  .looking, .down { color: #b3261e; font-weight: 600; }
  .charts { display: flex; gap: 24px; flex-wrap: wrap; }
  canvas { background: #fff; box-shadow: 0 1px 2px #0002; }
  #tree { background: #fff; box-shadow: 0 1px 2px #0002; padding: 12px; max-width: 900px; }
  #tree input { font: inherit; padding: 4px 8px; width: 320px; }
  #tree a { cursor: pointer; color: #1f5fbf; text-decoration: none; margin-right: 8px; }
  pre { background: #f5f6f8; padding: 8px; white-space: pre-wrap; word-break: break-all; }
  .muted { color: #6b7280; } .legend span { margin-right: 12px; } .legend .p50 { color: #0a7d32; } .legend .p99 { color: #b3261e; }
`;

/** DASHBOARD_SCRIPT_HASH is the CSP hash that lets the page run its one inline script and no other. */
export const DASHBOARD_SCRIPT_HASH = `sha256-${createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64')}`;
export const DASHBOARD_STYLE_HASH = `sha256-${createHash('sha256').update(DASHBOARD_STYLE).digest('base64')}`;

/**
 * DASHBOARD_HTML is the admin page (GET /): the ensemble live (roles, zxids, apply and request
 * rates, request, commit and fsync latency) and a read-only znode tree. Plain HTML, one style and
 * one script inline: nothing to build, nothing fetched from outside (the admin server's CSP only
 * allows the members' admin ports).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>zabkit</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<h1>zabkit</h1>
<div class="muted" id="summary">loading…</div>
<div class="muted" id="config"></div>
<h2>Members</h2>
<table id="members"><thead><tr>
  <th>member</th><th>role</th><th>phase</th><th>epoch</th><th>zxid</th><th>leader</th>
  <th>sessions</th><th>znodes</th><th>applied/s</th><th>requests/s</th><th>latency p50 / p99 ms</th>
  <th>commit p50 ms</th><th>fsync p50 ms</th>
</tr></thead><tbody></tbody></table>
<div class="muted">latency: receipt of a request to its reply, over the last minute; commit: the leader's proposal to its apply.</div>
<div class="charts">
  <div><h2>Throughput (transactions applied per second, this member)</h2>
  <canvas id="throughput" width="520" height="90"></canvas></div>
  <div><h2>Request latency (ms, this member)</h2>
  <canvas id="latency" width="520" height="90"></canvas>
  <div class="legend muted"><span class="p50">— p50</span><span class="p99">— p99</span></div></div>
</div>
<h2>Znodes (read-only, this member)</h2>
<div id="tree"></div>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
