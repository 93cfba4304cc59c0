// Resume (INTERFACE.md, "Rooms over time"): a wall whose socket is cut while posts go on
// shows every danmaku it missed, once, after it reconnects with since=LAST&epoch=E (a few,
// and 120: more than a screenful, all shown); and /wall?replay=1 shows what the room still
// holds. (Needs the server's hello/since/epoch.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, closePage, rawExchange, recordWall, seenTexts, waitSeen, waitConnected, WAIT_MS,
} from './harness.mjs';

const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);
const posts = (list) => list.map((msg) => ({ msg }));

describe('resume after a cut socket, and replay=1', () => {
  let server, browser, wall, poster;

  before(async () => {
    server = await startServer(['--rate', '0']);
    browser = await launchBrowser();
    poster = await openPost(browser, server.url, 'room=elsewhere'); // its page opens raw sockets to room "rs"
  });

  after(async () => {
    await closePage(wall);
    await closePage(poster);
    await browser?.close();
    await server?.stop();
  });

  test('every danmaku posted while the wall was away is shown once after it resumes', async () => {
    wall = await openWall(browser, server.url, 'room=rs&speed=5');
    const sockets = [];
    wall.on('websocket', (ws) => sockets.push(ws.url()));
    await recordWall(wall);
    const before = texts('before', 3);
    await rawExchange(poster, 'rs', posts(before), before.length); // the broadcasts
    await waitSeen(wall, before.at(-1));
    const epoch = await wall.evaluate(() => document.getElementById('wall').dataset.epoch);
    assert.match(epoch ?? '', /^[A-Za-z0-9_-]{1,32}$/, 'the wall kept the epoch from hello');

    // Cut the wall's socket; post at once, while it waits to reconnect (about 1 s).
    await wall.evaluate(() => window.__danmakuSocket.close());
    const missed = texts('missed', 6);
    await rawExchange(poster, 'rs', posts(missed), missed.length);
    await waitConnected(wall);
    const after = texts('after', 2);
    await rawExchange(poster, 'rs', posts(after), after.length);
    await waitSeen(wall, after.at(-1));
    await wall.waitForTimeout(500); // a duplicate would show within this
    assert.deepEqual(await seenTexts(wall), [...before, ...missed, ...after]);
    assert.ok(sockets.some((url) => url.includes(`since=3`) && url.includes(`epoch=${epoch}`)),
      `the wall resumed with since=3&epoch=${epoch}: ${sockets.join(' ')}`);
  });

  test('a wall that missed 120 danmaku shows every one of them once it resumes (none skipped, none twice)', async () => {
    const MISSED = 120; // more than the old replay default of 50, less than the queue cap of 500
    const away = await openWall(browser, server.url, 'room=rs-long&speed=10');
    const hellos = []; // every hello the wall's sockets receive, with the socket's URL
    away.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
      const frame = JSON.parse(String(payload));
      if (frame.type === 'hello') hellos.push({ url: ws.url(), ...frame });
    }));
    try {
      await recordWall(away);
      const before = texts('early', 3);
      await rawExchange(poster, 'rs-long', posts(before), before.length);
      await waitSeen(away, before.at(-1));
      const epoch = await away.evaluate(() => document.getElementById('wall').dataset.epoch);

      // Off the network: the socket is cut and no reconnect can get through until we say so.
      await away.context().setOffline(true);
      await away.evaluate(() => window.__danmakuSocket.close());
      await away.waitForFunction(() => document.getElementById('status').dataset.state !== 'connected', null, { timeout: WAIT_MS });
      const missed = texts('away', MISSED);
      await rawExchange(poster, 'rs-long', posts(missed), missed.length);
      await away.context().setOffline(false); // 'online': the wall reconnects at once
      await waitConnected(away);
      const resumed = hellos.at(-1);
      assert.ok(resumed.url.includes(`since=3&epoch=${epoch}`), `resumed with since=3&epoch=${epoch}: ${resumed.url}`);
      assert.equal(resumed.last, 3 + MISSED, 'all of them were posted while the wall was away: they come as its replay');
      assert.equal(resumed.recovered, true);

      await waitSeen(away, missed.at(-1), 30_000);
      await rawExchange(poster, 'rs-long', posts(['back live']), 1);
      await waitSeen(away, 'back live');
      await away.waitForTimeout(500); // a duplicate would show within this
      assert.deepEqual(await seenTexts(away), [...before, ...missed, 'back live']);
      assert.equal(await away.evaluate(() => document.getElementById('wall').dataset.dropped), undefined, 'the queue dropped none');
    } finally {
      await closePage(away);
    }
  });

  test('replay=1 shows what the room holds, in order, then live ones', async () => {
    const replayed = await openWall(browser, server.url, 'room=rs&replay=1&speed=10', { connected: false });
    await recordWall(replayed);
    await waitConnected(replayed);
    const all = [...texts('before', 3), ...texts('missed', 6), ...texts('after', 2)];
    await waitSeen(replayed, all.at(-1));
    await rawExchange(poster, 'rs', posts(["live one"]), 1);
    await waitSeen(replayed, 'live one');
    assert.deepEqual(await seenTexts(replayed), [...all, 'live one']);
    await closePage(replayed);
  });
});
