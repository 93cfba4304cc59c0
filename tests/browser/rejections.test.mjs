// A refused post: the post page shows the server's reason word for word (a blocked word,
// the rate, an empty or too long message: the page checks nothing itself). The expected
// reason is read from the server itself, through a raw WebSocket opened in a page.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, closePage, rawExchange, typeAndSend, tempFile, recordWall, seenTexts, waitSeen, WAIT_MS,
} from './harness.mjs';

/** Wait for the post page's #status to show an error; return its text. */
async function errorStatus(post) {
  await post.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: WAIT_MS });
  return post.locator('#status').textContent();
}

describe('rejected posts', () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(async () => { await browser?.close(); });

  test('a blocked word: #status shows the server\'s reason verbatim, the wall shows nothing', async () => {
    const blocklist = tempFile('blocklist.txt', 'forbiddenfruit\n');
    const server = await startServer(['--blocklist', blocklist]);
    let wall, post;
    try {
      wall = await openWall(browser, server.url, 'room=t3');
      post = await openPost(browser, server.url, 'room=t3');
      await recordWall(wall); // everything the wall shows from now on

      const text = 'I like the ForbiddenFruit a lot'; // case-insensitive match
      await typeAndSend(post, text);
      const shown = await errorStatus(post);

      // The same post over a raw socket from the wall page: what does the server say?
      const replies = await rawExchange(wall, 't3', [{ msg: text, color: '#ffffff', size: 'medium', mode: 'scroll' }], 1);
      assert.equal(replies[0].type, 'error', JSON.stringify(replies));
      assert.ok(replies[0].error.length > 0);
      assert.equal(shown, replies[0].error, 'the post page shows the server\'s reason verbatim');
      assert.match(shown, /block/i);

      // An allowed post afterwards still works, and only it reaches the wall.
      await typeAndSend(post, 'an apple is fine');
      await waitSeen(wall, 'an apple is fine');
      assert.deepEqual(await seenTexts(wall), ['an apple is fine']);
    } finally {
      await closePage(wall);
      await closePage(post);
      await server.stop();
    }
  });

  test('over the rate (--rate 1): the third quick post shows the "too many" reason', async () => {
    const server = await startServer(['--rate', '1']);
    let wall, post;
    try {
      wall = await openWall(browser, server.url, 'room=t3rate');
      post = await openPost(browser, server.url, 'room=t3rate');
      await recordWall(wall);
      // The bucket holds 2 × rate and is full at connect: two go through, the third is refused.
      for (const n of [1, 2, 3]) await typeAndSend(post, `quick ${n}`);
      const shown = await errorStatus(post);

      // The server's reason for the same thing over a raw socket of its own.
      const burst = [1, 2, 3].map((n) => ({ msg: `raw quick ${n}` }));
      const replies = await rawExchange(wall, 't3rate', burst, 3);
      const errors = replies.filter((r) => r.type === 'error');
      assert.equal(errors.length, 1, JSON.stringify(replies));
      assert.match(errors[0].error, /too many/i);
      assert.equal(shown, errors[0].error, 'the post page shows the server\'s reason verbatim');

      // The first two of the page's posts reached the wall; the third did not.
      await waitSeen(wall, 'raw quick 2');
      const seen = await seenTexts(wall);
      assert.deepEqual(seen.filter((t) => t.startsWith('quick')), ['quick 1', 'quick 2']);
      assert.equal(await post.locator('#msg').inputValue(), 'quick 3', 'a refused message stays in the box');
    } finally {
      await closePage(wall);
      await closePage(post);
      await server.stop();
    }
  });

  test('empty and too long: #status shows the server\'s own reasons, not the page\'s', async () => {
    const server = await startServer(['--rate', '0']);
    let wall, post;
    try {
      wall = await openWall(browser, server.url, 'room=t3len');
      post = await openPost(browser, server.url, 'room=t3len');
      const long = '弹'.repeat(101);
      const raw = await rawExchange(wall, 't3len', [{ msg: '   ' }, { msg: long }], 2);
      assert.deepEqual(raw.map((r) => r.type), ['error', 'error'], JSON.stringify(raw));
      for (const [text, reply] of [['   ', raw[0]], [long, raw[1]]]) {
        await post.evaluate(() => { document.getElementById('status').dataset.state = ''; });
        await typeAndSend(post, text);
        assert.equal(await errorStatus(post), reply.error, 'verbatim');
      }
      assert.match(raw[0].error, /empty/);
      assert.match(raw[1].error, /101 characters/);
    } finally {
      await closePage(wall);
      await closePage(post);
      await server.stop();
    }
  });
});
