// Rooms are separate walls: a comment posted to one room never shows on another.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, closePage, typeAndSend, recordWall, seenTexts, waitSeen,
} from './harness.mjs';

describe('rooms', () => {
  let server, browser, wallA, wallB, postA, postB;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    [wallA, wallB, postA, postB] = await Promise.all([
      openWall(browser, server.url, 'room=a'),
      openWall(browser, server.url, 'room=b'),
      openPost(browser, server.url, 'room=a'),
      openPost(browser, server.url, 'room=b'),
    ]);
    await recordWall(wallA);
    await recordWall(wallB);
  });

  after(async () => {
    for (const page of [wallA, wallB, postA, postB]) await closePage(page);
    await browser?.close();
    await server?.stop();
  });

  test('a post to room a shows on wall a and never on wall b', async () => {
    const text = 'only for room a';
    await typeAndSend(postA, text);
    await waitSeen(wallA, text);
    // Give a stray broadcast ample time to arrive at b too.
    await wallB.waitForTimeout(1500);
    assert.deepEqual(await seenTexts(wallB), [], 'wall b saw nothing');
    assert.equal(await wallB.locator('#wall .danmaku').count(), 0);
  });

  test('and the other way round, each room counting its own ids', async () => {
    const text = 'only for room b';
    await typeAndSend(postB, text);
    await waitSeen(wallB, text);
    assert.deepEqual(await seenTexts(wallB), [text]);
    assert.deepEqual(await seenTexts(wallA), ['only for room a'], 'wall a saw nothing new');
    // Room b's first comment is its id 1, whatever room a did before.
    assert.deepEqual(await wallB.evaluate(() => [...window.__seen.ids]), ['1']);
  });
});
