// Moderation through the real /admin page (INTERFACE.md, "Moderation"), with
// DANMAKU_ADMIN_TOKEN set: a wrong token is refused; delete takes a danmaku off an open
// wall within 1 s; hold puts posts in #pending (the post page says held), approve puts
// one on the wall, reject never does; a ban from the feed makes the next post fail with
// the "muted" reason; clear empties the wall; an admin page opened later lists the posts
// still waiting, and a decision on one page takes the entry off the other. (Needs the
// server's moderation support.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, openAdmin, closePage, typeAndSend, waitForDanmaku, waitPostState,
  recordWall, seenTexts, ADMIN_TOKEN, WAIT_MS,
} from './harness.mjs';

const ROOM = 'mod';

/** Wait until the admin page's reply log has `n` entries; resolves to the newest one's text. */
async function waitReplies(admin, n) {
  await admin.waitForFunction((n) => document.querySelectorAll('#log li').length >= n, n, { timeout: WAIT_MS });
  return admin.locator('#log li').first().textContent();
}

describe('moderation page', () => {
  let server, browser, admin, wall, post;
  let replies = 0; // ok/error replies the admin page has logged so far

  before(async () => {
    server = await startServer(['--rate', '0'], { env: { DANMAKU_ADMIN_TOKEN: ADMIN_TOKEN } });
    browser = await launchBrowser();
    wall = await openWall(browser, server.url, `room=${ROOM}`);
    post = await openPost(browser, server.url, `room=${ROOM}`);
  });

  after(async () => {
    for (const page of [admin, wall, post]) await closePage(page);
    await browser?.close();
    await server?.stop();
  });

  test('a wrong token is refused, and #status says so', async () => {
    const refused = await openAdmin(browser, server.url, { token: 'not-the-right-token-at-all', connected: false });
    try {
      await refused.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: WAIT_MS });
      assert.match(await refused.locator('#status').textContent(), /refused/);
    } finally {
      await closePage(refused);
    }
  });

  test('sign in: the room shows in #rooms with its members', async () => {
    admin = await openAdmin(browser, server.url, { token: ADMIN_TOKEN });
    await admin.waitForSelector(`#rooms .room[data-room="${ROOM}"]`, { timeout: WAIT_MS });
    await admin.waitForFunction((room) => /2 connected/.test(document.querySelector(`.room[data-room="${room}"]`).textContent),
      ROOM, { timeout: WAIT_MS });
  });

  test('delete from the feed: the danmaku vanishes from the open wall within 1 s', async () => {
    await typeAndSend(post, 'please delete me');
    const shown = await waitForDanmaku(wall, 'please delete me');
    const row = admin.locator(`#feed .post[data-room="${ROOM}"][data-id="${shown.id}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assert.equal(await row.locator('.text').textContent(), 'please delete me');
    const clicked = Date.now();
    await row.locator('.delete').click();
    await wall.waitForFunction((id) => !document.querySelector(`#wall .danmaku[data-id="${id}"]`), shown.id, { timeout: 1000, polling: 20 });
    assert.ok(Date.now() - clicked <= 1000);
    assert.match(await waitReplies(admin, ++replies), /✓ delete/);
  });

  test('hold: a post waits in #pending (the post page says held); approve shows it, reject never does', async () => {
    await recordWall(wall);
    await admin.locator(`.room[data-room="${ROOM}"] .hold`).check();
    assert.match(await waitReplies(admin, ++replies), /✓ hold/);

    await typeAndSend(post, 'approve me');
    assert.match(await waitPostState(post, 'held'), /held for review/);
    const pending = admin.locator(`#pending .pending[data-room="${ROOM}"]`, { hasText: 'approve me' });
    await pending.waitFor({ timeout: WAIT_MS });
    assert.ok(await pending.getAttribute('data-key'));
    await pending.locator('.approve').click();
    await waitForDanmaku(wall, 'approve me');
    await pending.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.match(await waitPostState(post, 'sent'), /sent/, 'the ack comes once approved');
    replies++;

    await typeAndSend(post, 'reject me');
    await waitPostState(post, 'held');
    const rejected = admin.locator(`#pending .pending[data-room="${ROOM}"]`, { hasText: 'reject me' });
    await rejected.waitFor({ timeout: WAIT_MS });
    await rejected.locator('.reject').click();
    await rejected.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.match(await waitReplies(admin, ++replies), /✓ reject/);
    await wall.waitForTimeout(1500);
    assert.ok(!(await seenTexts(wall)).includes('reject me'), 'a rejected post never reaches the wall');

    await admin.locator(`.room[data-room="${ROOM}"] .hold`).uncheck();
    assert.match(await waitReplies(admin, ++replies), /✓ hold/);
  });

  test('a late admin page lists what waits; a decision on one page clears it on the other', async () => {
    await admin.locator(`.room[data-room="${ROOM}"] .hold`).check();
    assert.match(await waitReplies(admin, ++replies), /✓ hold/);
    await typeAndSend(post, 'wait for two');
    await waitPostState(post, 'held');
    const late = await openAdmin(browser, server.url, { token: ADMIN_TOKEN });
    try {
      const there = late.locator(`#pending .pending[data-room="${ROOM}"]`, { hasText: 'wait for two' });
      await there.waitFor({ timeout: WAIT_MS }); // sent right after its state
      const here = admin.locator(`#pending .pending[data-room="${ROOM}"]`, { hasText: 'wait for two' });
      await here.locator('.reject').click();
      assert.match(await waitReplies(admin, ++replies), /✓ reject/);
      await there.waitFor({ state: 'detached', timeout: WAIT_MS }); // the server's `decided`
    } finally {
      await closePage(late);
    }
    await admin.locator(`.room[data-room="${ROOM}"] .hold`).uncheck();
    assert.match(await waitReplies(admin, ++replies), /✓ hold/);
  });

  test('clear: the wall is emptied within 1 s', async () => {
    for (const msg of ['one', 'two', 'three']) {
      await post.locator('input[name=mode][value=top] + span').tap();
      await typeAndSend(post, `clear ${msg}`);
      await waitForDanmaku(wall, `clear ${msg}`);
    }
    await admin.locator(`.room[data-room="${ROOM}"] .clear`).click();
    await wall.waitForFunction(() => document.querySelectorAll('#wall .danmaku').length === 0, null, { timeout: 1000, polling: 20 });
    assert.match(await waitReplies(admin, ++replies), /✓ clear/);
  });

  test('ban from the feed: the next post from that browser fails with the muted reason', async () => {
    await typeAndSend(post, 'last words');
    const shown = await waitForDanmaku(wall, 'last words');
    const row = admin.locator(`#feed .post[data-room="${ROOM}"][data-id="${shown.id}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    await row.locator('.ban').click();
    assert.match(await waitReplies(admin, ++replies), /✓ mute 127\.0\.0\.1/);
    await admin.waitForSelector('#bans li[data-address="127.0.0.1"]', { timeout: WAIT_MS });

    await typeAndSend(post, 'can anyone hear me');
    assert.match(await waitPostState(post, 'error'), /muted/);

    // Lift it: posting works again.
    await admin.locator('#bans li[data-address="127.0.0.1"] .lift').click();
    assert.match(await waitReplies(admin, ++replies), /✓ unmute/);
    await typeAndSend(post, 'back again');
    await waitPostState(post, 'sent');
    assert.deepEqual(admin.problems.filter((p) => p.startsWith('pageerror')), []);
  });
});
