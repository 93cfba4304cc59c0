// The index page's room picker, and what the pages do with a room name the server refuses.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openWall, openPost, closePage, PHONE, WAIT_MS } from './harness.mjs';

describe('index page and room names', () => {
  let server, browser;
  const pages = [];

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
    await server?.stop();
  });

  test('the room picker links to that room and its Post button opens the post page for it', async () => {
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    pages.push(page);
    await page.goto(`${server.url}/`);
    await page.locator('#room').fill('stage-2');
    assert.equal(await page.locator('#room-post').getAttribute('href'), '/post?room=stage-2');
    assert.equal(await page.locator('#room-wall').getAttribute('href'), '/wall?room=stage-2');
    await Promise.all([
      page.waitForURL(/\/post\?room=stage-2$/, { timeout: WAIT_MS }),
      page.locator('#room-form button[formaction="/post"]').tap(),
    ]);
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'connected', null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#room-name').textContent(), 'stage-2');
  });

  test('an invalid room name is reported on both pages, never swapped for another room', async () => {
    const post = await openPost(browser, server.url, 'room=no%20spaces!', { connected: false });
    const wall = await openWall(browser, server.url, 'room=no%20spaces!', { connected: false });
    pages.push(post, wall);
    for (const page of [post, wall]) {
      await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error', null, { timeout: WAIT_MS });
      assert.match(await page.locator('#status').textContent(), /invalid room/);
    }
    assert.equal(await post.locator('#send').isDisabled(), true);
  });
});
