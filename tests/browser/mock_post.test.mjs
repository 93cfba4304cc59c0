// The post page's logic against a pretend server (mock.mjs), no binary needed: every post
// carries a unique ref, the page knows its own post by the ack with that ref (never by
// its text), and shows error and held replies addressed to that ref.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, closePage, waitConnected, typeAndSend, waitPostState, WAIT_MS } from './harness.mjs';
import { FakeServer, openMock } from './mock.mjs';

const statusOf = (page) => page.evaluate(() => {
  const s = document.getElementById('status');
  return { state: s.dataset.state, text: s.textContent, id: s.dataset.id ?? null };
});

async function waitPosts(fake, n) {
  const deadline = Date.now() + WAIT_MS;
  const count = () => [...fake.conns].reduce((sum, c) => sum + c.received.length, 0);
  while (count() < n) {
    if (Date.now() > deadline) throw new Error(`the fake server got ${count()} of ${n} posts`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('post page logic (mock server)', () => {
  let browser;
  const pages = [];
  const open = async (fake, query = 'room=p') => {
    const page = await openMock(browser, fake, `/post?${query}`, { phone: true });
    pages.push(page);
    await waitConnected(page);
    return page;
  };

  before(async () => { browser = await launchBrowser(); });
  after(async () => {
    for (const page of pages) await closePage(page);
    await browser?.close();
  });

  test('identical text from two pages: each knows its own post by its ref, not by its text', async () => {
    const fake = new FakeServer();
    // Hold every post: the test decides when each is answered.
    const held = [];
    fake.onPost = (conn, post) => held.push({ conn, post });
    const a = await open(fake);
    const b = await open(fake);

    await typeAndSend(b, 'same words');
    await waitPosts(fake, 1);
    await typeAndSend(a, 'same words');
    await waitPosts(fake, 2);
    const [fromB, fromA] = held;
    assert.equal(fromA.post.msg, fromB.post.msg);
    assert.notEqual(fromA.post.ref, fromB.post.ref, 'two pages, two refs');

    // A's post is broadcast (to both pages: same text) and acked to A alone.
    fake.accept_post(fromA.conn, fromA.post);
    await waitPostState(a, 'sent');
    await b.waitForTimeout(300);
    assert.equal((await statusOf(b)).state, 'connecting', 'B still waits: the broadcast of A\'s identical text is not its ack');
    assert.equal(await b.locator('#msg').inputValue(), 'same words', 'B keeps its text until its own ack');

    fake.accept_post(fromB.conn, fromB.post);
    assert.match(await waitPostState(b, 'sent'), /sent/);
    assert.equal(await b.locator('#msg').inputValue(), '', 'acked: the box is cleared');
    const [sa, sb] = [await statusOf(a), await statusOf(b)];
    assert.equal(sa.id, '1');
    assert.equal(sb.id, '2');
    assert.deepEqual([...a.problems, ...b.problems], []);
  });

  test('refs: a string of 1..64 characters, different for every post; hello and others\' replies are ignored', async () => {
    const fake = new FakeServer();
    const post = await open(fake);
    const before = await statusOf(post);
    assert.equal(before.state, 'connected', 'a hello frame leaves the status alone');
    for (let i = 0; i < 5; i++) {
      await typeAndSend(post, `message ${i}`);
      await waitPostState(post, 'sent');
    }
    const refs = fake.connsOf('p')[0].received.map((p) => p.ref);
    assert.equal(new Set(refs).size, 5, `unique refs: ${refs}`);
    for (const ref of refs) assert.ok(typeof ref === 'string' && [...ref].length >= 1 && [...ref].length <= 64, ref);

    // A reply to a ref that is not ours changes nothing.
    const conn = fake.connsOf('p')[0];
    conn.send({ type: 'error', ref: 'someone-else', error: 'not yours' });
    conn.send({ type: 'ack', ref: 'someone-else', id: 99 });
    conn.send({ type: 'hello', room: 'p', epoch: 'x', last: 3 });
    await post.waitForTimeout(200);
    const after = await statusOf(post);
    assert.equal(after.state, 'sent');
    assert.equal(after.id, '5');
  });

  test('an error with our ref is shown verbatim; held says held for review, then approved on the ack', async () => {
    const fake = new FakeServer();
    const reason = 'you are muted for 600 s';
    fake.onPost = (conn, p) => conn.send({ type: 'error', ref: p.ref, error: reason });
    const post = await open(fake);
    await typeAndSend(post, 'will be refused');
    assert.equal(await waitPostState(post, 'error'), reason);
    assert.equal(await post.locator('#msg').inputValue(), 'will be refused', 'a refused message stays in the box');

    let heldPost = null;
    fake.onPost = (conn, p) => { heldPost = { conn, p }; conn.send({ type: 'held', ref: p.ref }); };
    await typeAndSend(post, 'needs a look');
    assert.match(await waitPostState(post, 'held'), /held for review/);
    // A moderator approves it: broadcast, and the ack reaches the sender.
    fake.accept_post(heldPost.conn, heldPost.p);
    assert.match(await waitPostState(post, 'sent'), /sent/);
    assert.deepEqual(post.problems, []);
  });

  test('index page: the post link is the full --public-url address when the server has one', async () => {
    const fake = new FakeServer();
    const index = await openMock(browser, fake, '/', { phone: true, settings: { public_url: 'https://wall.example.org/' } });
    pages.push(index);
    await index.waitForFunction(() => document.getElementById('room-post').textContent.startsWith('https:'), null, { timeout: WAIT_MS });
    assert.equal(await index.locator('#room-post').textContent(), 'https://wall.example.org/post?room=main');
    await index.locator('#room').fill('hall-2');
    assert.equal(await index.locator('#room-post').getAttribute('href'), 'https://wall.example.org/post?room=hall-2');
    assert.equal(await index.locator('#room-wall').getAttribute('href'), '/wall?room=hall-2', 'the wall link stays local');
  });
});
