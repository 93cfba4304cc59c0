// The moderation page's logic against a pretend /admin/ws (mock.mjs), no binary needed:
// sign-in (token in sessionStorage only, refused token), the page hooks of INTERFACE.md
// (#rooms, #feed, #pending, blocklist, bans), the exact requests each control sends, and
// #pending kept equal to the server's list of posts still waiting (refilled after every
// `state`, entries removed on `decided`).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, closePage, waitConnected, WAIT_MS } from './harness.mjs';
import { FakeServer, openMock } from './mock.mjs';

const TOKEN = 'mock-admin-token-0123456789';

async function until(what, check) {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wait for the fake to have received `n` admin requests; resolves to the last one. */
async function nthRequest(fake, n) {
  await until(`admin request ${n}`, () => fake.adminRequests.length >= n);
  return fake.adminRequests[n - 1];
}

/** A pending entry as the server sends it (INTERFACE.md, "Moderation"). */
const held = (room, key, msg = `held ${key}`) =>
  ({ room, key, msg, color: '#ffffff', size: 'medium', mode: 'scroll', from: '127.0.0.1' });

/** "room/key" of every .pending element in #pending, in page order, and #pending-count. */
async function pendingShown(page) {
  return page.evaluate(() => ({
    entries: [...document.querySelectorAll('#pending .pending')].map((el) => `${el.dataset.room}/${el.dataset.key}`),
    count: document.getElementById('pending-count').textContent,
  }));
}

/** Wait until #pending holds exactly `entries` ("room/key", in order) and the count says so. */
async function waitPending(page, entries) {
  try {
    await page.waitForFunction((want) => {
      const got = [...document.querySelectorAll('#pending .pending')].map((el) => `${el.dataset.room}/${el.dataset.key}`);
      return JSON.stringify(got) === JSON.stringify(want)
        && document.getElementById('pending-count').textContent === String(want.length);
    }, entries, { timeout: WAIT_MS, polling: 20 });
  } catch (err) {
    throw new Error(`#pending should be ${JSON.stringify(entries)}, is ${JSON.stringify(await pendingShown(page))}: ${err.message}`);
  }
}

describe('admin page logic (mock server)', () => {
  let browser;
  const pages = [];
  const open = async (fake, { signIn = true, token = TOKEN } = {}) => {
    const page = await openMock(browser, fake, '/admin', { phone: true });
    pages.push(page);
    page.sockets = fake.adminUrls; // (routed sockets fire no 'websocket' event)
    if (signIn) {
      await page.locator('#admin-token').fill(token);
      await page.locator('#admin-login').click();
    }
    return page;
  };

  before(async () => { browser = await launchBrowser(); });
  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
  });

  test('a refused token: #status says so, the token is forgotten and not retried', async () => {
    const fake = new FakeServer();
    const page = await open(fake, { token: 'wrong-token-wrong-token' });
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: WAIT_MS });
    assert.match(await page.locator('#status').textContent(), /refused/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.waitForTimeout(2500);
    assert.equal(page.sockets.length, 1, 'no second attempt with a refused token');
    assert.ok(await page.locator('#admin-token').isVisible(), 'the form is back for another try');
  });

  test('sign-in: auth first, token in sessionStorage only; state renders rooms, blocklist and bans', async () => {
    const fake = new FakeServer();
    fake.state = {
      rooms: [
        { room: 'main', members: 3, last: 12, hold: false, lock: true, slow: 5 },
        { room: 'b-2', members: 0, last: 0, hold: true, lock: false, slow: 0 },
      ],
      blocklist: ['spoiler', 'bad word'],
      bans: [{ address: '192.0.2.7', until: Date.now() + 300_000 }],
    };
    const page = await open(fake);
    await waitConnected(page);
    assert.equal(page.sockets.length, 1);
    assert.ok(page.sockets[0].endsWith('/admin/ws'), `the token is in no URL: ${page.sockets[0]}`);
    assert.ok(!page.url().includes(TOKEN));
    assert.equal(await page.evaluate(() => Object.values(sessionStorage).includes('mock-admin-token-0123456789')), true);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.equal(await page.locator('#admin-token').inputValue(), '', 'the token is not left in the field');

    const rooms = await page.locator('#rooms .room').evaluateAll((els) => els.map((el) => ({
      room: el.dataset.room, hold: el.querySelector('.hold').checked, lock: el.querySelector('.lock').checked,
      slow: el.querySelector('.slow').value, clear: !!el.querySelector('button.clear'), text: el.textContent,
    })));
    assert.deepEqual(rooms.map((r) => [r.room, r.hold, r.lock, r.slow, r.clear]),
      [['b-2', true, false, '0', true], ['main', false, true, '5', true]]);
    assert.match(rooms[1].text, /3 connected/);
    assert.match(rooms[1].text, /#12/);
    assert.deepEqual(await page.locator('#blocklist .word').evaluateAll((els) => els.map((e) => e.dataset.word)), ['bad word', 'spoiler']);
    assert.deepEqual(await page.locator('#bans li').evaluateAll((els) => els.map((e) => e.dataset.address)), ['192.0.2.7']);

    // A room that appears later, and a change to one.
    fake.toAdmins({ type: 'room', room: 'late', members: 1, last: 0, hold: false, lock: false, slow: 0 });
    fake.toAdmins({ type: 'room', room: 'main', members: 4, last: 13, hold: true, lock: true, slow: 5 });
    await page.waitForSelector('#rooms .room[data-room="late"]', { timeout: WAIT_MS });
    await page.waitForFunction(() => document.querySelector('.room[data-room="main"] .hold').checked, null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#rooms .room').count(), 3);
  });

  test('controls send exactly the contract\'s requests; replies are logged in order', async () => {
    const fake = new FakeServer();
    fake.state = { rooms: [{ room: 'main', members: 1, last: 0, hold: false, lock: false, slow: 0 }], blocklist: ['old'], bans: [] };
    const page = await open(fake);
    await waitConnected(page);
    const room = page.locator('.room[data-room="main"]');
    let n = 0;

    await room.locator('.hold').check();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'hold', room: 'main', on: true });
    await room.locator('.lock').check();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'lock', room: 'main', on: true });
    await room.locator('.slow').fill('7');
    await room.locator('.slow').press('Enter');
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'slow', room: 'main', seconds: 7 });
    await room.locator('.clear').click();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'clear', room: 'main' });

    // The feed: delete and ban.
    fake.toAdmins({ type: 'post', room: 'main', id: 4, msg: '<b>hi</b>', color: '#ff0000', size: 'medium', mode: 'scroll', time: Date.now(), from: '198.51.100.9' });
    const post = page.locator('#feed .post[data-room="main"][data-id="4"]');
    await post.waitFor({ timeout: WAIT_MS });
    assert.equal(await post.locator('.text').textContent(), '<b>hi</b>', 'text stays text');
    assert.equal(await page.locator('#feed b').count(), 0);
    await post.locator('.delete').click();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'delete', room: 'main', id: 4 });
    await page.waitForSelector('#feed .post.deleted', { timeout: WAIT_MS });
    await post.locator('.ban').click();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'ban', address: '198.51.100.9', seconds: 600 });
    await page.waitForSelector('#bans li[data-address="198.51.100.9"]', { timeout: WAIT_MS });
    await page.locator('#bans li[data-address="198.51.100.9"] .lift').click();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'ban', address: '198.51.100.9', seconds: 0 });
    await page.waitForFunction(() => !document.querySelector('#bans li'), null, { timeout: WAIT_MS });

    // Blocklist, edited in place.
    await page.locator('#blocklist-word').fill('new phrase');
    await page.locator('#blocklist-word').press('Enter');
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'blocklist', add: ['new phrase'], remove: [] });
    await page.waitForSelector('#blocklist .word[data-word="new phrase"]', { timeout: WAIT_MS });
    await page.locator('#blocklist .word[data-word="old"] .remove').click();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'blocklist', add: [], remove: ['old'] });
    await page.waitForFunction(() => !document.querySelector('#blocklist .word[data-word="old"]'), null, { timeout: WAIT_MS });

    // An error reply: shown in the log, and the checkbox goes back to what the server says.
    fake.adminReply = () => ({ type: 'error', error: 'redis is down' });
    await room.locator('.hold').uncheck();
    assert.deepEqual(await nthRequest(fake, ++n), { type: 'hold', room: 'main', on: false });
    await page.waitForFunction(() => document.querySelector('#log li')?.textContent.includes('redis is down'), null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#log li').count(), n);
    assert.deepEqual(page.problems, []);
  });

  test('pending posts: approve and reject remove them; an error reply too', async () => {
    const fake = new FakeServer();
    const page = await open(fake);
    await waitConnected(page);
    for (const [key, msg] of [['k1', 'first'], ['k2', 'second'], ['k3', 'third']]) {
      fake.toAdmins({ type: 'pending', room: 'main', key, msg, color: '#ffffff', size: 'medium', mode: 'scroll', from: '127.0.0.1' });
    }
    fake.toAdmins({ type: 'pending', room: 'main', key: 'k1', msg: 'first', color: '#ffffff', size: 'medium', mode: 'scroll', from: '127.0.0.1' });
    await page.waitForFunction(() => document.querySelectorAll('#pending .pending').length === 3, null, { timeout: WAIT_MS });
    await page.locator('.pending[data-key="k1"] .approve').click();
    assert.deepEqual(await nthRequest(fake, 1), { type: 'approve', room: 'main', key: 'k1' });
    await page.locator('.pending[data-key="k2"] .reject').click();
    assert.deepEqual(await nthRequest(fake, 2), { type: 'reject', room: 'main', key: 'k2' });
    fake.adminReply = () => ({ type: 'error', error: 'unknown key' });
    await page.locator('.pending[data-key="k3"] .approve').click();
    await page.waitForFunction(() => document.querySelectorAll('#pending .pending').length === 0, null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#pending-count').textContent(), '0');
  });

  test('pending after state: sign-in shows exactly the posts still waiting; each reconnect starts the list afresh', async () => {
    const fake = new FakeServer();
    fake.pending = [held('main', 'k1'), held('main', 'k2'), held('side', 'k1'), held('main', 'k3')];
    const page = await open(fake);
    await waitConnected(page);
    await waitPending(page, ['main/k1', 'main/k2', 'side/k1', 'main/k3']);
    fake.toAdmins({ type: 'pending', ...held('main', 'k2') }); // again: still one element per key
    fake.toAdmins({ type: 'pending', ...held('main', 'k4') }); // a new one, live
    await waitPending(page, ['main/k1', 'main/k2', 'side/k1', 'main/k3', 'main/k4']);
    assert.equal(await page.locator('.pending[data-room="main"][data-key="k2"] .text').textContent(), 'held k2');

    // Reconnect: meanwhile k1, k3 and side/k1 were decided elsewhere and k5 arrived.
    // The server resends what still waits; nothing stale stays, nothing is doubled.
    fake.pending = [held('main', 'k2'), held('main', 'k4'), held('main', 'k5')];
    for (const admin of [...fake.admins]) await admin.ws.close({ code: 1001, reason: 'restart' });
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'waiting', null, { timeout: WAIT_MS });
    await waitConnected(page);
    assert.equal(page.sockets.length, 2);
    await waitPending(page, ['main/k2', 'main/k4', 'main/k5']);

    // The buttons of a refilled entry work: approve sends the contract's request.
    await page.locator('.pending[data-room="main"][data-key="k4"] .approve').click();
    assert.deepEqual(await nthRequest(fake, 1), { type: 'approve', room: 'main', key: 'k4' });
    await waitPending(page, ['main/k2', 'main/k5']);

    // Another reconnect with nothing waiting: the list ends up empty.
    fake.pending = [];
    for (const admin of [...fake.admins]) await admin.ws.close({ code: 1001, reason: 'restart' });
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'waiting', null, { timeout: WAIT_MS });
    await waitConnected(page);
    assert.equal(page.sockets.length, 3);
    await waitPending(page, []);
    assert.deepEqual(page.problems, []);
  });

  test('decided (by another admin): removes that entry; unknown keys and rooms are harmless', async () => {
    const fake = new FakeServer();
    fake.pending = [held('main', 'k1'), held('main', 'k2'), held('side', 'k2'), held('main', 7)];
    const page = await open(fake);
    await waitConnected(page);
    await waitPending(page, ['main/k1', 'main/k2', 'side/k2', 'main/7']);
    fake.toAdmins({ type: 'decided', room: 'main', key: 'k2', approved: true });
    await waitPending(page, ['main/k1', 'side/k2', 'main/7']);
    fake.toAdmins({ type: 'decided', room: 'main', key: 7, approved: false }); // keys are compared as text
    await waitPending(page, ['main/k1', 'side/k2']);
    // Unknown: another room's key, a key never seen, one already gone, malformed ones.
    fake.toAdmins({ type: 'decided', room: 'other', key: 'k1', approved: true });
    fake.toAdmins({ type: 'decided', room: 'main', key: 'nope', approved: false });
    fake.toAdmins({ type: 'decided', room: 'main', key: 'k2', approved: true });
    fake.toAdmins({ type: 'decided', room: 'main' });
    fake.toAdmins({ type: 'decided', key: 'k1' });
    fake.toAdmins({ type: 'pending', ...held('main', 'k9') }); // after them all: once it shows, they were handled
    await waitPending(page, ['main/k1', 'side/k2', 'main/k9']);
    fake.toAdmins({ type: 'decided', room: 'side', key: 'k2', approved: false });
    await waitPending(page, ['main/k1', 'main/k9']);
    assert.deepEqual(fake.adminRequests, [], 'a decided entry sends nothing');
    assert.equal(await page.locator('#log li').count(), 0);
    assert.deepEqual(page.problems, []);
  });

  test('a dropped connection: reconnects by itself and signs in again with the stored token', async () => {
    const fake = new FakeServer();
    const page = await open(fake);
    await waitConnected(page);
    for (const admin of [...fake.admins]) await admin.ws.close({ code: 1001, reason: 'restart' });
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'waiting', null, { timeout: WAIT_MS });
    assert.match(await page.locator('#status').textContent(), /reconnect/);
    await waitConnected(page);
    assert.equal(page.sockets.length, 2);
    // A reload of the tab signs in by itself too (sessionStorage survives it).
    await page.reload();
    await waitConnected(page);
  });

  test('the feed keeps the latest 500 posts', async () => {
    const fake = new FakeServer();
    const page = await open(fake);
    await waitConnected(page);
    for (let id = 1; id <= 520; id++) {
      fake.toAdmins({ type: 'post', room: 'big', id, msg: `m${id}`, color: '#ffffff', size: 'small', mode: 'scroll', time: Date.now(), from: '127.0.0.1' });
    }
    await page.waitForSelector('#feed .post[data-id="520"]', { timeout: WAIT_MS });
    assert.equal(await page.locator('#feed .post').count(), 500);
    assert.equal(await page.locator('#feed .post').first().getAttribute('data-id'), '520', 'newest first');
    assert.equal(await page.locator('#feed .post[data-id="20"]').count(), 0);
    assert.equal(await page.locator('#feed .post[data-id="21"]').count(), 1);
  });
});
