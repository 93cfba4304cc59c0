// The wall's QR code (INTERFACE.md, "Operating it"): screenshot #qr and decode it with
// zbarimg (Debian's zbar-tools): it must give exactly BASE/post?room=NAME, where BASE is
// --public-url without trailing slashes, or else the wall's own origin. Cases: a short
// room, a 32-character room name, and a ~150-character --public-url.
// (Needs the server's /settings.json, /qr.svg and --public-url.)

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, launchBrowser, closePage, ensureScreenshotDir, WAIT_MS } from './harness.mjs';

const LONG_BASE = 'https://danmaku.example.org/events/2025/spring-conference/main-hall/'
  + 'live-audience-comments/projector-one/and-a-few-more-path-segments-to-be-long-enough';

function zbarimg(file) {
  try {
    execFileSync('zbarimg', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('zbarimg not found: install Debian\'s zbar-tools (tests/browser/run.sh does)');
  }
  return execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' }).replace(/\n$/, '');
}

describe('QR code on the wall', () => {
  let browser;
  const servers = [];
  const pages = [];

  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
    for (const server of servers) await server.stop();
  });

  async function decodeWall(flags, room, name) {
    const server = await startServer(flags);
    servers.push(server);
    browser ??= await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    pages.push(page);
    await page.goto(`${server.url}/wall?room=${room}`);
    await page.waitForFunction(() => {
      const img = document.getElementById('qr-img');
      return img.getAttribute('src') && img.complete && img.naturalWidth > 0;
    }, null, { timeout: WAIT_MS });
    const file = path.join(ensureScreenshotDir(), `qr-${name}.png`);
    await page.locator('#qr-img').screenshot({ path: file });
    return { server, page, text: zbarimg(file), caption: await page.locator('#qr-url').textContent() };
  }

  test('a short room, no --public-url: the wall\'s own origin', async () => {
    const { server, text, caption } = await decodeWall([], 'main', 'short');
    assert.equal(text, `${server.url}/post?room=main`);
    assert.equal(caption, text);
  });

  test('a 32-character room name', async () => {
    const room = 'A-very_long-room-name-32-chars-x';
    assert.equal(room.length, 32);
    const { server, text } = await decodeWall([], room, 'room32');
    assert.equal(text, `${server.url}/post?room=${room}`);
  });

  test('a ~150-character --public-url with trailing slashes', async () => {
    assert.ok(LONG_BASE.length >= 145 && LONG_BASE.length <= 160, LONG_BASE.length);
    const { text, caption } = await decodeWall(['--public-url', LONG_BASE + '//'], 'hall', 'public-url');
    assert.equal(text, `${LONG_BASE}/post?room=hall`);
    assert.equal(caption, text);
  });
});
