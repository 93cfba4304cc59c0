// Post acknowledgements (INTERFACE.md, second round): two browsers post the same words at
// the same moment; each page recognises its own post by the ack to its ref, so each shows
// the id of its own danmaku, and the wall shows both. (Needs the server's ref/ack support.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, closePage, recordWall, waitPostState, WAIT_MS,
} from './harness.mjs';

describe('post acknowledgements', () => {
  let server, browser, wall, a, b;

  before(async () => {
    server = await startServer(['--rate', '0']);
    browser = await launchBrowser();
    wall = await openWall(browser, server.url, 'room=ack&speed=3');
    a = await openPost(browser, server.url, 'room=ack');
    b = await openPost(browser, server.url, 'room=ack');
  });

  after(async () => {
    for (const page of [wall, a, b]) await closePage(page);
    await browser?.close();
    await server?.stop();
  });

  test('identical text from two browsers: each page knows its own post by ref/ack', async () => {
    await recordWall(wall);
    const text = 'exactly the same words';
    for (const page of [a, b]) await page.locator('#msg').fill(text);
    await Promise.all([a.locator('#msg').press('Enter'), b.locator('#msg').press('Enter')]);
    for (const page of [a, b]) assert.match(await waitPostState(page, 'sent'), /sent/);
    const ids = await Promise.all([a, b].map((p) => p.evaluate(() => document.getElementById('status').dataset.id)));
    assert.deepEqual([...ids].sort(), ['1', '2'], `each page shows the id of its own danmaku: ${ids}`);

    // The wall shows both, once each, with those ids.
    await wall.waitForFunction(() => window.__seen.ids.size >= 2, null, { timeout: WAIT_MS });
    assert.deepEqual(await wall.evaluate(() => window.__seen.texts), [text, text]);
    assert.deepEqual([...await wall.evaluate(() => [...window.__seen.ids])].sort(), ['1', '2']);

    // And the posts did carry distinct refs: a raw look from the page at what it sent is
    // not possible, but a second round shows the pairing is not by order either.
    await b.locator('#msg').fill(text);
    await b.locator('#msg').press('Enter');
    await b.waitForFunction(() => document.getElementById('status').dataset.id === '3', null, { timeout: WAIT_MS });
    assert.equal(await a.evaluate(() => document.getElementById('status').dataset.id), ids[0], 'A is not told about B\'s post');
  });
});
