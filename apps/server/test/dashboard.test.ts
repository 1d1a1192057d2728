import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient, until } from './raw-client.js';

// The admin dashboard (GET /) in Debian's headless Chromium, against real `zabkit-server` processes.

const CHROMIUM = '/usr/bin/chromium';

let ensemble: Ensemble;
let browser: Browser;
const clients: RawClient[] = [];

/** MISSING_CHROMIUM fails the test (never skips it) where Debian's chromium is not installed. */
const MISSING_CHROMIUM = existsSync(CHROMIUM)
  ? null
  : `${CHROMIUM} is missing: the dashboard test needs Debian's chromium (apt-get install -y chromium; .ci/run installs it)`;

beforeAll(async () => {
  if (MISSING_CHROMIUM) return;
  [ensemble, browser] = await Promise.all([
    startEnsemble({ size: 3, dir: mkdtempSync(join(tmpdir(), 'zabkit-dashboard-')) }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
  ]);
  await ensemble.waitForLeader();
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  await browser?.close();
  await ensemble?.close();
});

describe('admin dashboard in headless Chromium', () => {
  it('renders every member with its role and zxid, updates after a write, and fetches nothing from outside', async () => {
    if (MISSING_CHROMIUM) throw new Error(MISSING_CHROMIUM);
    const leader = await ensemble.waitForLeader();
    const viewed = leader === 1 ? 2 : 1;
    const member = ensemble.members.find((m) => m.id === viewed);
    if (!member) throw new Error(`no member ${viewed}`);
    const adminOrigins = new Set(ensemble.members.map((m) => `http://${member.host}:${m.adminPort}`));

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requested: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`http://${member.host}:${member.adminPort}/`);

    // Every member appears with the role its own /status reports.
    const rows = page.locator('#members tbody tr[data-member]');
    await until('the dashboard lists three members', async () => (await rows.count()) === 3, 15_000);
    const statuses = await Promise.all([1, 2, 3].map((id) => ensemble.status(id)));
    for (const status of statuses) {
      if (!status) throw new Error('a member did not answer /status');
      const row = page.locator(`#members tbody tr[data-member="${status.id}"]`);
      expect(await row.getAttribute('data-role')).toBe(status.role);
      expect(await row.locator('[data-field="role"]').textContent()).toBe(status.role);
    }
    expect(await page.locator('tr[data-role="leading"]').getAttribute('data-member')).toBe(String(leader));
    expect(await page.locator('tr[data-role="following"]').count()).toBe(2);
    await until(
      'the summary names the leader',
      async () => (await page.locator('#summary').getAttribute('data-leader')) === String(leader),
      10_000,
    );

    // A write through the raw client: the page's zxid for the viewed member follows.
    const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
    clients.push(client);
    await client.sync();
    const zxidCell = page.locator(`#members tbody tr[data-member="${viewed}"] [data-field="zxid"]`);
    const before = (await ensemble.status(viewed))?.zxid;
    await until('the page shows the zxid before the write', async () => (await zxidCell.textContent()) === before);
    await client.create('/dashboard-write', 'seen in the browser');
    await client.sync();
    const after = (await ensemble.status(viewed))?.zxid;
    expect(after).not.toBe(before);
    await until('the page shows the new zxid', async () => (await zxidCell.textContent()) === after, 10_000);
    expect(await page.locator(`tr[data-member="${viewed}"]`).getAttribute('data-zxid')).toBe(after);

    // The tree browser picks the new znode up, and opens it.
    const child = page.locator('#children a[data-path="/dashboard-write"]');
    await until('the tree lists the new znode', async () => (await child.count()) === 1, 10_000);
    await child.click();
    await until(
      'the tree shows the znode',
      async () => (await page.locator('#tree-path').textContent()) === '/dashboard-write',
    );
    expect(await page.locator('#tree pre').textContent()).toBe('seen in the browser');

    // Latency reaches the page: the viewed member answered the client's requests.
    const latency = page.locator(`#members tbody tr[data-member="${viewed}"] [data-field="latency"]`);
    await until('the page shows request latency', async () => /^\d/.test((await latency.textContent()) ?? ''), 10_000);

    const screenshot = join(mkdtempSync(join(tmpdir(), 'zabkit-dashboard-shot-')), 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`dashboard screenshot: ${screenshot}`);

    for (const url of requested) {
      expect(adminOrigins.has(new URL(url).origin), `request to ${url}`).toBe(true);
    }
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it('asks for the admin token when /api/tree answers 401, and browses the tree with it', async () => {
    if (MISSING_CHROMIUM) throw new Error(MISSING_CHROMIUM);
    const leader = await ensemble.waitForLeader();
    const viewed = leader === 3 ? 2 : 3;
    const member = ensemble.members.find((m) => m.id === viewed);
    if (!member) throw new Error(`no member ${viewed}`);
    const token = 'dashboard-token-0123456789';
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'zabkit-dashboard-token-')), 'admin-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const config = JSON.parse(readFileSync(member.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(member.configPath, JSON.stringify({ ...config, adminTokenFile: tokenFile }));
    await ensemble.stop(viewed);
    await ensemble.restart(viewed);
    await ensemble.waitForLeader();

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const treeRequests: { url: string; authorization: string | undefined }[] = [];
    const pageErrors: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/tree')
        treeRequests.push({ url: request.url(), authorization: request.headers().authorization });
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Chromium logs every 401 as a failed resource load; that is the answer the page expects.
      if (message.type() === 'error' && !message.text().includes('status of 401')) pageErrors.push(message.text());
    });
    await page.goto(`http://${member.host}:${member.adminPort}/`);

    const input = page.locator('#token-input');
    await until('the tree panel asks for the token', async () => (await input.count()) === 1, 10_000);
    expect(await page.locator('#token-reason').textContent()).toBe(
      'Znode data needs the admin token: send Authorization: Bearer <token>',
    );
    // The 2 s refresh leaves the question alone while it is open.
    await input.fill('not-the-token');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await input.inputValue()).toBe('not-the-token');
    await page.locator('#token-submit').click();
    await until(
      'a wrong token is refused and asked again',
      async () => (await page.locator('#token-reason').textContent()) === 'The admin token was refused',
      10_000,
    );
    await page.locator('#token-input').fill(token);
    await page.locator('#token-input').press('Enter');
    await until('the tree shows the root', async () => (await page.locator('#tree-path').textContent()) === '/');
    const child = page.locator('#children a[data-path="/dashboard-write"]');
    await until('the tree lists the znode', async () => (await child.count()) === 1, 10_000);
    await child.click();
    await until(
      'the tree shows the znode',
      async () => (await page.locator('#tree-path').textContent()) === '/dashboard-write',
    );
    expect(await page.locator('#tree pre').textContent()).toBe('seen in the browser');
    expect(await page.evaluate(() => sessionStorage.getItem('zabkit-admin-token'))).toBe(token);
    expect(treeRequests.at(-1)?.authorization).toBe(`Bearer ${token}`);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);
});
