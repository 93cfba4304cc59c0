// Resume (INTERFACE.md, "Rooms over time"): a wall whose socket is cut while posts go on
// shows every danmaku it missed, once, after it reconnects with since=LAST&epoch=E; and
// /wall?replay=1 shows what the room still holds. (Needs the server's hello/since/epoch.)

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
