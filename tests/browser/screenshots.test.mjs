// Screenshots of what people see, saved to $SCREENSHOT_DIR (default target/screenshots):
//   wall.png  1280×720, ~15 comments in flight: colours, sizes, scroll/top/bottom, Chinese, emoji;
//   post.png  375×667 phone post page with a message typed and a colour chosen;
//   wall-qr.png  1280×720 wall with comments in flight and its QR corner (--public-url);
//   admin.png  1280×800 moderation page: rooms, held posts, the feed, blocklist, bans.
// Each is also checked: every comment on stage at once, and emoji and CJK text drawn with
// real fonts (Noto Color Emoji, Noto CJK) rather than tofu boxes, as Chromium reports them.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, launchBrowser, openWall, openPost, openAdmin, closePage, recordWall, ensureScreenshotDir, rgb, rawExchange,
  tempFile, ADMIN_TOKEN, WAIT_MS,
} from './harness.mjs';

const COMMENTS = [
  // [msg, color, size, mode], sent in this order a little apart so that they spread out.
  ['welcome to the danmaku wall 弹幕来了！', '#fe0302', 'large', 'scroll'],
  ['Hello, wall 👋', '#ffffff', 'medium', 'scroll'],
  ['nice talk!', '#89d5ff', 'medium', 'scroll'],
  ['哈哈哈哈哈哈', '#00cd00', 'medium', 'scroll'],
  ['where are the slides?', '#66ccff', 'small', 'scroll'],
  ['🎉🎉🎉 party time', '#ffd302', 'medium', 'scroll'],
  ['这个好厉害 👍', '#ff7204', 'large', 'scroll'],
  ['こんにちは〜', '#cc0273', 'small', 'scroll'],
  ['前方高能 ⚡', '#ffd302', 'medium', 'top'],
  ['+1', '#ffffff', 'small', 'scroll'],
  ['666666', '#00cd00', 'large', 'scroll'],
  ['speaker is on fire 🔥', '#ffffff', 'medium', 'scroll'],
  ['学到了，谢谢分享', '#89d5ff', 'medium', 'scroll'],
  ['bottom 底部弹幕', '#fe0302', 'large', 'bottom'],
  ['dark text, light outline', '#1a1a1a', 'small', 'bottom'],
];

const SPACING_MS = Number(process.env.SHOT_SPACING || 350);

/** The platform fonts Chromium used to draw an element's text. */
async function fontsOf(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    assert.ok(nodeId, `no ${selector}`);
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    return fonts.map((f) => f.familyName);
  } finally {
    await cdp.detach();
  }
}

function assertPng(file, width, height) {
  const png = readFileSync(file);
  assert.equal(png.subarray(1, 4).toString(), 'PNG', `${file} is a PNG`);
  assert.equal(png.readUInt32BE(16), width, `${file} width`);
  assert.equal(png.readUInt32BE(20), height, `${file} height`);
  assert.ok(png.length > 10_000, `${file} has some content (${png.length} bytes)`);
}

describe('screenshots', () => {
  let server, browser, dir;
  const pages = [];

  before(async () => {
    server = await startServer(['--rate', '0']);
    browser = await launchBrowser();
    dir = ensureScreenshotDir();
  });

  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
    await server?.stop();
  });

  test('wall.png: 15 varied comments in flight, emoji and CJK in real fonts', async () => {
    const wall = await openWall(browser, server.url, 'room=shots&qr=0');
    pages.push(wall);
    await recordWall(wall);

    // Send from a socket of the page's own, SPACING_MS apart.
    await wall.evaluate(async ({ comments, spacing }) => {
      const ws = new WebSocket(`ws://${location.host}/ws?room=shots`);
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      window.__shotSocket = ws; // closed by the page going away
      comments.forEach(([msg, color, size, mode], i) => {
        setTimeout(() => ws.send(JSON.stringify({ msg, color, size, mode })), i * spacing);
      });
    }, { comments: COMMENTS, spacing: SPACING_MS });

    // All on stage at once, the last one on for at least half a second (mid-flight);
    // what is on stage is read in the same frame, and the picture taken right after.
    const handle = await wall.waitForFunction((n) => {
      const on = document.querySelectorAll('#wall .danmaku:not(.measuring)');
      if (window.__seen.ids.size < n || on.length < n) return false;
      window.__allOnAt ??= performance.now();
      if (performance.now() - window.__allOnAt < 500) return false;
      return [...on].map((el) => ({ text: el.textContent, color: getComputedStyle(el).color, mode: el.dataset.mode }));
    }, COMMENTS.length, { timeout: WAIT_MS, polling: 'raf' });
    const file = path.join(dir, 'wall.png');
    await wall.screenshot({ path: file });
    assertPng(file, 1280, 720);

    // What was on stage is what was sent: text, colour, mode.
    const shown = await handle.jsonValue();
    for (const [msg, color, , mode] of COMMENTS) {
      const el = shown.find((s) => s.text === msg);
      assert.ok(el, `"${msg}" is on the wall`);
      assert.equal(el.color, rgb(color), msg);
      assert.equal(el.mode, mode, msg);
    }

    // No tofu: the emoji come from an emoji font, Chinese from a CJK font.
    const id = (msg) => 1 + COMMENTS.findIndex(([m]) => m === msg);
    const emojiFonts = await fontsOf(wall, `.danmaku[data-id="${id('🎉🎉🎉 party time')}"]`);
    assert.ok(emojiFonts.some((f) => /emoji/i.test(f)), `emoji drawn with ${emojiFonts}`);
    const cjkFonts = await fontsOf(wall, `.danmaku[data-id="${id('学到了，谢谢分享')}"]`);
    assert.ok(cjkFonts.some((f) => /CJK/i.test(f)), `Chinese drawn with ${cjkFonts}`);
  });

  test('post.png: the phone page with a message typed and a colour chosen', async () => {
    const post = await openPost(browser, server.url, 'room=shots');
    pages.push(post);
    await post.locator('input[name=color][value="#ff7204"] + span').tap();
    await post.locator('input[name=size][value=large] + span').tap();
    const text = '太棒了 🎉 great!';
    await post.locator('#msg').fill(text);

    const preview = post.locator('#preview span');
    assert.equal(await preview.textContent(), text);
    assert.equal(await preview.evaluate((el) => getComputedStyle(el).color), rgb('#ff7204'));
    assert.equal(await post.locator('#status').getAttribute('data-state'), 'connected');

    const file = path.join(dir, 'post.png');
    // The phone renders at 2× (deviceScaleFactor); the picture is one pixel per CSS pixel.
    await post.screenshot({ path: file, scale: 'css' });
    assertPng(file, 375, 667);

    const fonts = await fontsOf(post, '#preview span');
    assert.ok(fonts.some((f) => /emoji/i.test(f)), `emoji drawn with ${fonts}`);
    assert.ok(fonts.some((f) => /CJK/i.test(f)), `Chinese drawn with ${fonts}`);
  });

  // The second-round pictures need a server with --public-url and moderation: their own.
  describe('with --public-url and moderation', () => {
    let server2;
    before(async () => {
      server2 = await startServer(
        ['--rate', '0', '--public-url', 'https://wall.example.org', '--blocklist', tempFile('blocklist.txt', 'spoiler\nbuy now\n')],
        { env: { DANMAKU_ADMIN_TOKEN: ADMIN_TOKEN } });
    });
    after(async () => { await server2?.stop(); });

    test('wall-qr.png: comments in flight and the QR corner with the public post address', async () => {
      const wall = await openWall(browser, server2.url, 'room=main');
      pages.push(wall);
      await wall.waitForFunction(() => {
        const img = document.getElementById('qr-img');
        return img.getAttribute('src') && img.complete && img.naturalWidth > 0;
      }, null, { timeout: WAIT_MS });
      assert.equal(await wall.locator('#qr-url').textContent(), 'https://wall.example.org/post?room=main');
      await recordWall(wall);
      const some = COMMENTS.slice(0, 10).map(([msg, color, size, mode]) => ({ msg, color, size, mode }));
      await wall.evaluate(async ({ comments, spacing }) => {
        const ws = new WebSocket(`ws://${location.host}/ws?room=main`);
        await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
        window.__shotSocket = ws;
        comments.forEach((c, i) => setTimeout(() => ws.send(JSON.stringify(c)), i * spacing));
      }, { comments: some, spacing: SPACING_MS });
      await wall.waitForFunction((n) => window.__seen.ids.size >= n
        && document.querySelectorAll('#wall .danmaku:not(.measuring)').length >= n, some.length, { timeout: WAIT_MS, polling: 'raf' });
      await wall.waitForTimeout(500);
      const file = path.join(dir, 'wall-qr.png');
      await wall.screenshot({ path: file });
      assertPng(file, 1280, 720);
    });

    test('admin.png: the moderation page with rooms, a held post, the feed, blocklist and a ban', async () => {
      const admin = await openAdmin(browser, server2.url, { token: ADMIN_TOKEN, context: { viewport: { width: 1280, height: 800 } } });
      pages.push(admin);
      await admin.waitForSelector('#rooms .room[data-room="main"]', { timeout: WAIT_MS });
      // A few posts for the feed, from a page's own socket in room "main".
      await rawExchange(admin, 'main', COMMENTS.slice(0, 6).map(([msg, color, size, mode]) => ({ msg, color, size, mode })), 6);
      // Hold room "stage" and post to it: a pending entry.
      await rawExchange(admin, 'stage', [{ msg: 'hello' }], 1);
      await admin.waitForSelector('#rooms .room[data-room="stage"]', { timeout: WAIT_MS });
      await admin.locator('.room[data-room="stage"] .hold').check();
      await admin.waitForFunction(() => document.querySelectorAll('#log li').length >= 1, null, { timeout: WAIT_MS });
      await rawExchange(admin, 'stage', [{ msg: 'is this on topic? 🤔' }], 1);
      await admin.waitForSelector('#pending .pending', { timeout: WAIT_MS });
      await admin.locator('#ban-address').fill('203.0.113.7');
      await admin.locator('#ban-address').press('Enter');
      await admin.waitForSelector('#bans li', { timeout: WAIT_MS });
      await admin.waitForSelector('#feed .post >> nth=5', { timeout: WAIT_MS });
      const file = path.join(dir, 'admin.png');
      await admin.screenshot({ path: file });
      assertPng(file, 1280, 800);
    });
  });
});
