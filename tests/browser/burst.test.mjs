// A burst is queued and shown as room frees up, never dropped: 200 comments sent as
// fast as a socket can send them all reach the wall.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openWall, closePage, recordWall } from './harness.mjs';

const COUNT = 200;
const BURST_WAIT_MS = 60_000;

describe('burst', () => {
  let server, browser, wall;

  before(async () => {
    server = await startServer(['--rate', '0']);
    browser = await launchBrowser();
    wall = await openWall(browser, server.url, 'room=burst&speed=10');
    await recordWall(wall); // installed before the burst: elements leave once they have flown
  });

  after(async () => {
    await closePage(wall);
    await browser?.close();
    await server?.stop();
  });

  test(`${COUNT} posts sent at once: every id 1..${COUNT} is shown on the wall`, async () => {
    const started = Date.now();
    // From a socket of its own in the wall page: send all, then wait for all the echoes.
    const echoes = await wall.evaluate(async (count) => {
      const ws = new WebSocket(`ws://${location.host}/ws?room=burst`);
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const replies = [];
      const all = new Promise((resolve) => {
        ws.onmessage = (e) => {
          const reply = JSON.parse(e.data);
          if (reply.type === 'hello') return; // the first frame on every /ws: not a reply to a post
          replies.push(reply);
          if (replies.length === count) resolve();
        };
      });
      const sizes = ['small', 'medium', 'large'];
      for (let i = 1; i <= count; i++) {
        // Mostly scroll (?speed=10 makes those fly fast); a few top/bottom ones, which
        // stay 4 s whatever the speed, so that the queue also holds those back.
        const mode = i % 25 === 0 ? 'top' : i % 25 === 12 ? 'bottom' : 'scroll';
        ws.send(JSON.stringify({ msg: `burst ${i}`, mode, size: sizes[i % sizes.length] }));
      }
      await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
      ws.close();
      return replies;
    }, COUNT);
    assert.equal(echoes.length, COUNT, 'the sender got every danmaku back');
    assert.deepEqual(echoes.filter((r) => r.type !== 'danmaku'), [], 'no post was refused');
    assert.deepEqual(echoes.map((r) => r.id), Array.from({ length: COUNT }, (_, i) => i + 1));

    try {
      await wall.waitForFunction((count) => window.__seen.ids.size >= count, COUNT,
        { timeout: BURST_WAIT_MS, polling: 100 });
    } finally {
      const state = await wall.evaluate(() => ({
        seen: window.__seen.ids.size,
        queued: document.getElementById('wall').dataset.queued,
        dropped: document.getElementById('wall').dataset.dropped,
      }));
      console.log(`burst: ${state.seen} of ${COUNT} shown in ${Date.now() - started} ms (queued ${state.queued}, dropped ${state.dropped ?? 0})`);
    }
    const ids = await wall.evaluate(() => [...window.__seen.ids].map(Number).sort((a, b) => a - b));
    assert.deepEqual(ids, Array.from({ length: COUNT }, (_, i) => i + 1), 'ids 1..200, each once');
    const texts = await wall.evaluate(() => window.__seen.texts);
    assert.deepEqual(new Set(texts), new Set(Array.from({ length: COUNT }, (_, i) => `burst ${i + 1}`)));
    assert.equal(await wall.evaluate(() => document.getElementById('wall').dataset.dropped), undefined, 'nothing dropped');
  });
});
