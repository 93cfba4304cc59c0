// The pages ride out a server restart: they say they are reconnecting while it is gone,
// come back by themselves when it returns on the same port, and posting works again.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, closePage, typeAndSend, waitForDanmaku, waitConnected, WAIT_MS,
} from './harness.mjs';

const statusOf = (page) => page.evaluate(() => {
  const s = document.getElementById('status');
  return { state: s.dataset.state, text: s.textContent };
});

describe('reconnect after a server restart', () => {
  let server, browser, wall, post;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    wall = await openWall(browser, server.url, 'room=r5');
    post = await openPost(browser, server.url, 'room=r5');
  });

  after(async () => {
    await closePage(wall);
    await closePage(post);
    await browser?.close();
    await server?.stop();
  });

  test('both pages show reconnecting, then connected again, and a post goes through', async () => {
    const before = { wall: await statusOf(wall), post: await statusOf(post) };
    assert.equal(before.wall.state, 'connected');
    assert.equal(before.post.state, 'connected');
    const port = server.port;

    await server.stop();
    assert.equal(server.lastExit.code, 0, 'SIGTERM: the server exits 0');

    for (const [name, page] of [['wall', wall], ['post', post]]) {
      await page.waitForFunction(
        (connectedText) => {
          const s = document.getElementById('status');
          return s.dataset.state !== 'connected' && s.textContent !== connectedText && /reconnect/i.test(s.textContent);
        },
        before[name].text, { timeout: WAIT_MS, polling: 50 });
    }

    // Back on the same port: the pages knock at the same address.
    await server.start(port);
    assert.equal(server.port, port);

    await waitConnected(wall);
    await waitConnected(post);
    const after = { wall: await statusOf(wall), post: await statusOf(post) };
    assert.equal(after.wall.text, before.wall.text);
    assert.equal(after.post.text, before.post.text);

    const text = 'after the restart';
    await typeAndSend(post, text);
    const d = await waitForDanmaku(wall, text);
    assert.match(d.id, /^[1-9][0-9]*$/);
    await post.waitForFunction(() => document.getElementById('status').dataset.state === 'sent', null, { timeout: WAIT_MS });
  });
});
