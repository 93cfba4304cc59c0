// A comment typed on the phone page reaches the wall: text, colour, id, and the
// sender's status; and text that looks like HTML stays text.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openWall, openPost, closePage, waitForDanmaku, typeAndSend, rgb, WAIT_MS,
} from './harness.mjs';

describe('post page → wall', () => {
  let server, browser, wall, post;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    wall = await openWall(browser, server.url, 'room=t1');
    post = await openPost(browser, server.url, 'room=t1');
  });

  after(async () => {
    await closePage(wall);
    await closePage(post);
    await browser?.close();
    await server?.stop();
  });

  test('a palette colour: the wall shows the text in that colour, the post page says sent', async () => {
    // Tap the red swatch (the visible circle; its radio is a hidden 1 px input).
    await post.locator('input[name=color][value="#fe0302"] + span').tap();
    assert.equal(await post.locator('input[name=color]:checked').inputValue(), '#fe0302');

    const text = 'hello from the phone 1';
    await typeAndSend(post, text);

    const d = await waitForDanmaku(wall, text);
    assert.equal(d.text, text);
    assert.equal(d.color, rgb('#fe0302'));
    assert.match(d.id, /^[1-9][0-9]*$/, 'data-id is a positive integer');

    await post.waitForFunction(() => document.getElementById('status').dataset.state === 'sent', null, { timeout: WAIT_MS });
    assert.match(await post.locator('#status').textContent(), /sent/);
    // The box is cleared for the next comment.
    assert.equal(await post.locator('#msg').inputValue(), '');
  });

  test('a custom colour from the colour picker', async () => {
    // A colour input can't be driven through its native dialog headless: set its value
    // and fire the events a real pick fires.
    await post.locator('#custom-color').evaluate((input) => {
      input.value = '#12AB34';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    assert.equal(await post.locator('#custom-radio').isChecked(), true, 'picking a colour selects the custom swatch');
    assert.equal(await post.locator('input[name=color]:checked').inputValue(), '#12ab34');

    const text = 'custom colour 2';
    await typeAndSend(post, text);
    const d = await waitForDanmaku(wall, text);
    assert.equal(d.color, rgb('#12ab34'));
    assert.match(d.id, /^[1-9][0-9]*$/);
    // Ids count per room from 1: this is the room's second comment.
    assert.equal(d.id, '2');
    await post.waitForFunction(() => document.getElementById('status').dataset.state === 'sent', null, { timeout: WAIT_MS });
  });

  test('HTML in a message is shown as text, never run', async () => {
    const text = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
    await typeAndSend(post, text);
    // Found by what survives either way ("bold"), so that a page that parsed the HTML
    // fails on the comparison below rather than on a time-out.
    const d = await (await wall.waitForFunction(() => {
      const el = [...document.querySelectorAll('#wall .danmaku')].find((e) => e.textContent.includes('bold'));
      return el && { text: el.textContent, children: el.childElementCount, html: el.innerHTML };
    }, null, { timeout: WAIT_MS, polling: 'raf' })).jsonValue();
    assert.equal(d.text, text);
    assert.equal(d.children, 0, `no elements inside the comment, got ${d.html}`);
    assert.equal(await wall.locator('#wall img, #wall b').count(), 0);
    // The preview on the post page must not have parsed it either.
    assert.equal(await post.locator('#preview img, #preview b').count(), 0);
    // An <img src=x> that had been parsed would have failed to load by now (same server,
    // 404 at once); give it a moment anyway, then check neither page ran the handler.
    await wall.waitForTimeout(300);
    assert.equal(await wall.evaluate(() => typeof window.__pwned), 'undefined');
    assert.equal(await post.evaluate(() => typeof window.__pwned), 'undefined');
  });

  test('no uncaught errors in either page', () => {
    assert.deepEqual(wall.problems.filter((p) => p.startsWith('pageerror')), []);
    assert.deepEqual(post.problems.filter((p) => p.startsWith('pageerror')), []);
  });
});
