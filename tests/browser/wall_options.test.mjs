// The wall's URL options that an OBS overlay relies on: a transparent background, and
// the post page's address (a QR corner by default, a small label with qr=0, neither with
// hidepost=1).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openWall, closePage } from './harness.mjs';

const TRANSPARENT = 'rgba(0, 0, 0, 0)';

const backgrounds = (page) => page.evaluate(() => {
  const html = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  return { htmlColor: html.backgroundColor, htmlImage: html.backgroundImage, bodyColor: body.backgroundColor, bodyImage: body.backgroundImage };
});

describe('wall URL options', () => {
  let server, browser;
  const pages = [];
  const open = async (query) => { const p = await openWall(browser, server.url, query); pages.push(p); return p; };

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
    await server?.stop();
  });

  test('default: an opaque dark background and a QR corner with the post page address', async () => {
    const wall = await open('room=opts');
    const bg = await backgrounds(wall);
    assert.notEqual(bg.htmlColor, TRANSPARENT, 'the default wall is not transparent');
    assert.ok(await wall.locator('#qr').isVisible(), 'the QR corner is shown');
    const caption = await wall.locator('#qr').textContent();
    assert.ok(caption.includes(`${server.url}/post?room=opts`), caption);
    // The label would only repeat the caption: hidden while the QR corner shows.
    assert.equal(await wall.locator('#post-url').isHidden(), true);
  });

  test('?qr=0: no QR code, the "post at" label instead', async () => {
    const wall = await open('room=opts&qr=0');
    assert.equal(await wall.locator('#qr').isHidden(), true);
    assert.ok(await wall.locator('#post-url').isVisible(), 'the label is shown');
    const label = await wall.locator('#post-url').textContent();
    assert.ok(label.includes(`${server.url}/post?room=opts`), label);
  });

  test('?bg=transparent: html and body are transparent, with no background image', async () => {
    const wall = await open('room=opts&bg=transparent');
    const bg = await backgrounds(wall);
    assert.deepEqual(bg, { htmlColor: TRANSPARENT, htmlImage: 'none', bodyColor: TRANSPARENT, bodyImage: 'none' });
  });

  test('?bg=000080 and ?bg=navy: a colour of one\'s own', async () => {
    for (const query of ['bg=000080', 'bg=navy', 'bg=%23000080']) {
      const wall = await open(`room=opts&${query}`);
      const bg = await backgrounds(wall);
      assert.equal(bg.htmlColor, 'rgb(0, 0, 128)', query);
      assert.equal(bg.htmlImage, 'none', query);
    }
  });

  test('?hidepost=1 hides the address, label and QR code; ?qr=1 brings the QR code back', async () => {
    const wall = await open('room=opts&hidepost=1');
    for (const id of ['#post-url', '#qr']) {
      assert.equal(await wall.locator(id).isHidden(), true, id);
      assert.equal(await wall.locator(id).evaluate((el) => getComputedStyle(el).display), 'none', id);
    }
    const withQr = await open('room=opts&hidepost=1&qr=1');
    assert.ok(await withQr.locator('#qr').isVisible(), 'qr=1 wins over hidepost=1');
    assert.equal(await withQr.locator('#post-url').isHidden(), true);
  });
});
