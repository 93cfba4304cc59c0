// The wall's page logic against a pretend server (mock.mjs), no binary needed: resume
// (hello, since, epoch), the replay display policy, delete and clear, and the QR corner.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, closePage, recordWall, seenTexts, waitSeen, waitConnected, WAIT_MS } from './harness.mjs';
import { FakeServer, openMock, ORIGIN } from './mock.mjs';

const texts = (prefix, from, to) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

/** Wait until the fake server has `n` connections in `room`. */
async function waitConns(page, fake, room, n) {
  await page.waitForFunction(() => true); // let the page run
  const deadline = Date.now() + WAIT_MS;
  while (fake.connsOf(room).length < n) {
    if (Date.now() > deadline) throw new Error(`no ${n} connection(s) to room ${room}: ${fake.urls.join(' ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('wall page logic (mock server)', () => {
  let browser;
  const pages = [];
  const open = async (fake, query, options) => {
    const page = await openMock(browser, fake, `/wall?${query}`, options);
    pages.push(page);
    await waitConnected(page);
    return page;
  };

  before(async () => { browser = await launchBrowser(); });
  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
  });

  test('resume: a reconnect asks since=LAST&epoch=E and shows each missed danmaku once', async () => {
    const fake = new FakeServer();
    for (const t of texts('old', 1, 3)) fake.post('r', { msg: t }); // before the wall: never shown
    const wall = await open(fake, 'room=r&speed=10');
    await recordWall(wall);
    assert.equal(fake.urls[0], '?room=r', 'the first connection asks no replay');
    await waitConns(wall, fake, 'r', 1);
    for (const t of texts('a', 1, 3)) fake.post('r', { msg: t });
    await waitSeen(wall, 'a3');

    // Cut from the page's side (as a test hook), post while it is away.
    await wall.evaluate(() => window.__danmakuSocket.close());
    await wall.waitForFunction(() => document.getElementById('status').dataset.state !== 'connected', null, { timeout: WAIT_MS });
    for (const t of texts('b', 1, 4)) fake.post('r', { msg: t });
    fake.replayExtra = 2; // the server also resends two the wall has: it must not show them again
    await waitConnected(wall);
    const epoch = fake.room('r').epoch;
    assert.equal(fake.urls[1], `?room=r&since=6&epoch=${epoch}`);
    await waitSeen(wall, 'b4');

    // Cut from the server's side: same again.
    fake.replayExtra = 0;
    await fake.cut('r');
    for (const t of texts('c', 1, 2)) fake.post('r', { msg: t });
    await waitConnected(wall);
    await waitSeen(wall, 'c2');
    assert.equal(fake.urls[2], `?room=r&since=10&epoch=${epoch}`);
    assert.deepEqual(await seenTexts(wall), [...texts('a', 1, 3), ...texts('b', 1, 4), ...texts('c', 1, 2)]);
    assert.equal(await wall.evaluate(() => document.getElementById('wall').dataset.last), '12');
    assert.deepEqual(wall.problems, []);
  });

  test('replay=1: the first connection asks since=0 and shows what the room holds', async () => {
    const fake = new FakeServer();
    for (const t of texts('h', 1, 5)) fake.post('rp', { msg: t });
    const wall = await open(fake, 'room=rp&replay=1&speed=10');
    await recordWall(wall);
    await waitSeen(wall, 'h5');
    assert.equal(fake.urls[0], '?room=rp&since=0');
    fake.post('rp', { msg: 'live' });
    await waitSeen(wall, 'live');
    assert.deepEqual(await seenTexts(wall), [...texts('h', 1, 5), 'live']);
  });

  test('replay policy: of a long replay only the newest 500 fly (?replaymax=N changes it, 0 to 1000)', async () => {
    const fake = new FakeServer();
    for (const t of texts('x', 1, 620)) fake.post('long', { msg: t });
    const wall = await open(fake, 'room=long&replay=1&speed=10', {});
    await recordWall(wall);
    await waitSeen(wall, 'x620', 30_000);
    fake.post('long', { msg: 'after' }); // id 621, live
    await waitSeen(wall, 'after', 30_000);
    assert.deepEqual(await seenTexts(wall), [...texts('x', 121, 620), 'after']);
    assert.equal(await wall.evaluate(() => document.getElementById('wall').dataset.dropped), undefined, 'the queue dropped none');

    // The ids up to hello's `last` (621) are the replay; the newest N of them fly.
    const few = await open(fake, 'room=long&replay=1&replaymax=10&speed=10');
    await recordWall(few);
    await waitSeen(few, 'after');
    assert.deepEqual(await seenTexts(few), [...texts('x', 612, 620), 'after']);

    const all = await open(fake, 'room=long&replay=1&replaymax=1000&speed=10');
    await recordWall(all);
    await waitSeen(all, 'after', 30_000);
    assert.deepEqual(await seenTexts(all), [...texts('x', 1, 620), 'after']);

    // Out of range: clamped to 1000; 0: no replayed danmaku fly, live ones do.
    const none = await open(fake, 'room=long&replay=1&replaymax=0&speed=10');
    await recordWall(none);
    await waitConns(none, fake, 'long', 4);
    fake.post('long', { msg: 'live' });
    await waitSeen(none, 'live');
    assert.deepEqual(await seenTexts(none), ['live']);
    const clamped = await open(fake, 'room=long&replay=1&replaymax=5000&speed=10');
    await recordWall(clamped);
    await waitSeen(clamped, 'live', 30_000);
    const seen = await seenTexts(clamped);
    assert.equal(seen.length, 622, 'ids 1..622: all of them, none twice');
    assert.deepEqual(seen.slice(-3), ['x620', 'after', 'live']);
  });

  test('a new epoch: the wall starts over, fetches the new epoch from since=0 and shows it', async () => {
    const fake = new FakeServer();
    const wall = await open(fake, 'room=ep&speed=10');
    await recordWall(wall);
    await waitConns(wall, fake, 'ep', 1);
    for (const t of texts('one', 1, 3)) fake.post('ep', { msg: t });
    await waitSeen(wall, 'one3');
    const oldEpoch = fake.room('ep').epoch;

    await fake.cut('ep');
    fake.restartRoom('ep'); // as a server restart: new epoch, ids from 1 again
    for (const t of texts('two', 1, 2)) fake.post('ep', { msg: t });
    await waitSeen(wall, 'two2');
    const newEpoch = fake.room('ep').epoch;
    assert.equal(fake.urls[1], `?room=ep&since=3&epoch=${oldEpoch}`);
    assert.equal(fake.urls[2], `?room=ep&since=0&epoch=${newEpoch}`, 'resync: everything the new epoch holds');
    fake.post('ep', { msg: 'two3' });
    await waitSeen(wall, 'two3');
    assert.deepEqual(await seenTexts(wall), [...texts('one', 1, 3), ...texts('two', 1, 3)]);
    assert.equal(fake.urls.length, 3, 'no more reconnects');
  });

  test('delete and clear take comments off the screen and out of the queue; repeats are harmless', async () => {
    const fake = new FakeServer();
    // Two lanes, top comments that stay 4 s: most of a burst has to wait in the queue.
    const wall = await open(fake, 'room=mod&maxlanes=2');
    await waitConns(wall, fake, 'mod', 1);
    const ids = texts('t', 1, 12).map((t) => fake.post('mod', { msg: t, mode: 'top' }).id);
    await wall.waitForFunction(() => document.querySelectorAll('#wall .danmaku:not(.measuring)').length === 2
      && Number(document.getElementById('wall').dataset.queued) === 10, null, { timeout: WAIT_MS });

    // One on screen, one queued.
    fake.event('mod', { type: 'delete', id: ids[0] });
    fake.event('mod', { type: 'delete', id: ids[5] });
    await wall.waitForFunction(() => !document.querySelector('#wall .danmaku[data-id="1"]')
      && Number(document.getElementById('wall').dataset.queued) < 10, null, { timeout: 1000 });
    await recordWall(wall);
    fake.event('mod', { type: 'delete', id: ids[0] }); // again: nothing happens
    fake.event('mod', { type: 'delete', id: 999 }); // unknown: nothing happens

    fake.event('mod', { type: 'clear' });
    await wall.waitForFunction(() => document.querySelectorAll('#wall .danmaku').length === 0
      && document.getElementById('wall').dataset.queued === '0', null, { timeout: 1000 });
    fake.event('mod', { type: 'clear' }); // again
    const seenBeforeClear = await seenTexts(wall);
    assert.ok(!seenBeforeClear.includes('t6'), `the deleted queued one never flew: ${seenBeforeClear}`);

    // The wall goes on: a new one shows at once (the lanes were freed).
    fake.post('mod', { msg: 'after clear', mode: 'top' });
    await waitSeen(wall, 'after clear', 1000);
    await wall.waitForTimeout(300);
    const after = await seenTexts(wall);
    assert.deepEqual(after.filter((t) => t.startsWith('t')), seenBeforeClear.filter((t) => t.startsWith('t')),
      'nothing from before the clear comes back');
    assert.deepEqual(wall.problems, []);
  });

  test('QR corner: the public URL\'s post address as text and QR request; lanes end above it', async () => {
    const fake = new FakeServer();
    const wall = await open(fake, 'room=qa&bg=transparent', { settings: { public_url: 'https://wall.example.org//' } });
    const expected = 'https://wall.example.org/post?room=qa';
    await wall.waitForFunction((url) => document.getElementById('qr-url').textContent === url
      && document.getElementById('qr-img').complete && document.getElementById('qr-img').naturalWidth > 0,
    expected, { timeout: WAIT_MS });
    assert.deepEqual(wall.context().qrRequests, [expected], 'one QR picture, of exactly the post URL');
    assert.equal(await wall.locator('#qr-img').getAttribute('src'), `/qr.svg?text=${encodeURIComponent(expected)}`);
    assert.ok((await wall.locator('#qr').textContent()).includes(expected));
    const box = await wall.locator('#qr-img').boundingBox();
    assert.ok(box.width >= 130 && box.width <= 170, `about 20vmin of 720 px: ${box.width}`);

    // Bottom comments fill the lanes from the bottom up: none may reach the QR corner.
    await waitConns(wall, fake, 'qa', 1);
    for (const size of ['large', 'medium', 'small', 'large', 'medium', 'large']) fake.post('qa', { msg: `bottom ${size}`, size, mode: 'bottom' });
    const overlap = await (await wall.waitForFunction(() => {
      const on = [...document.querySelectorAll('#wall .danmaku:not(.measuring)')];
      if (on.length < 6) return false;
      const qrTop = document.getElementById('qr').getBoundingClientRect().top;
      return { qrTop, lowest: Math.max(...on.map((el) => el.getBoundingClientRect().bottom)) };
    }, null, { timeout: WAIT_MS })).jsonValue();
    assert.ok(overlap.lowest <= overlap.qrTop, `comments end at ${overlap.lowest}, the QR corner starts at ${overlap.qrTop}`);
  });

  test('QR corner: no public URL (or no /settings.json) means the page\'s origin; qr=0 hides it', async () => {
    const fake = new FakeServer();
    for (const settings of [{ public_url: null }, null]) {
      const wall = await open(fake, 'room=Q_9', { settings });
      const expected = `${ORIGIN}/post?room=Q_9`;
      await wall.waitForFunction(() => document.getElementById('qr-img').getAttribute('src'), null, { timeout: WAIT_MS });
      assert.equal(await wall.locator('#qr-url').textContent(), expected);
      assert.equal(await wall.locator('#qr-img').getAttribute('src'), `/qr.svg?text=${encodeURIComponent(expected)}`);
    }
    const noQr = await open(fake, 'room=Q_9&qr=0');
    await noQr.waitForTimeout(300);
    assert.equal(await noQr.locator('#qr').isHidden(), true);
    assert.deepEqual(noQr.context().qrRequests, [], 'qr=0: no QR picture fetched');
    assert.ok((await noQr.locator('#post-url').textContent()).includes(`${ORIGIN}/post?room=Q_9`));
  });
});
