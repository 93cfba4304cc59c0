// Behind a real nginx with TLS (tests/proxy/nginx.conf.template, the README's Deploying
// configuration): the post page at https://…/post sends over wss://, the wall at
// https://…/wall receives over wss://, and the server sees the poster's address from
// X-Forwarded-For (trusted only because nginx, on loopback, is --trust-proxy'd).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  REPO, startServer, launchBrowser, closePage, waitConnected, waitForDanmaku, typeAndSend, waitPostState,
  WALL_VIEWPORT, PHONE,
} from './harness.mjs';

const POSTER = '203.0.113.9'; // TEST-NET-3: what the poster's own proxy says it is

describe('behind nginx with TLS', () => {
  let server, browser, nginx, base, wall, post;

  before(async () => {
    server = await startServer(['--trust-proxy', 'loopback']);
    const backend = new URL(server.url).port;
    const started = execFileSync('bash', [path.join(REPO, 'tests/proxy/start_nginx.sh'), backend], { encoding: 'utf8' });
    const [port, dir] = started.trim().split(/\s+/);
    nginx = dir;
    base = `https://127.0.0.1:${port}`;
    browser = await launchBrowser();
    // The certificate is a throwaway one made for this run.
    const wallContext = await browser.newContext({ ...WALL_VIEWPORT, ignoreHTTPSErrors: true });
    wall = await wallContext.newPage();
    await wall.goto(`${base}/wall?room=tls`);
    await waitConnected(wall);
    const postContext = await browser.newContext({
      ...PHONE, ignoreHTTPSErrors: true, extraHTTPHeaders: { 'X-Forwarded-For': POSTER },
    });
    post = await postContext.newPage();
    await post.goto(`${base}/post?room=tls`);
    await waitConnected(post);
  });

  after(async () => {
    await closePage(wall);
    await closePage(post);
    await browser?.close();
    if (nginx) execFileSync('bash', [path.join(REPO, 'tests/proxy/stop_nginx.sh'), nginx]);
    await server?.stop();
  });

  test('a post from https://…/post reaches https://…/wall over wss://', async () => {
    for (const page of [wall, post]) {
      assert.equal(new URL(page.url()).protocol, 'https:');
      assert.match(await page.evaluate(() => window.__danmakuSocket?.url ?? ''), /^wss:\/\/127\.0\.0\.1:\d+\/ws\?room=tls/);
    }
    await typeAndSend(post, 'hello over TLS');
    const d = await waitForDanmaku(wall, 'hello over TLS');
    assert.match(d.id, /^[1-9][0-9]*$/);
    await waitPostState(post, 'sent');
  });

  test("the server logs the poster's address, not the proxy's", async () => {
    // nginx appends its peer (127.0.0.1, trusted) to what the browser sent; walking from the
    // right, the first untrusted entry is the poster.
    const lines = server.log.filter((l) => l.includes(' GET /post '));
    assert.ok(lines.some((l) => l.includes(`${POSTER} GET /post 200`)), lines.join('\n'));
    const upgrades = server.log.filter((l) => l.includes(' GET /ws 101'));
    assert.ok(upgrades.length >= 2, `both pages upgraded through the proxy:\n${upgrades.join('\n')}`);
  });
});
