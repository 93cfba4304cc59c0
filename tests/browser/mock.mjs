// mock.mjs — the pages against a pretend server, to prove their logic without the binary.
//
// A browser context whose requests to http://danmaku.test are answered from www/ on disk
// (context.route), and whose WebSockets to /ws and /admin/ws are answered by FakeServer
// (context.routeWebSocket): a few dozen lines that follow INTERFACE.md's second round
// (hello, since/epoch replay, ref/ack/held, delete/clear, the admin protocol). Every
// exchange is recorded, so a test can check what a page asked for as well as what it shows.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO, WALL_VIEWPORT, PHONE } from './harness.mjs';

export const ORIGIN = 'http://danmaku.test';
const WWW = path.join(REPO, 'www');
const PAGES = { '/': 'index.html', '/post': 'post.html', '/wall': 'wall.html', '/admin': 'admin.html' };
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript', css: 'text/css', svg: 'image/svg+xml', json: 'application/json' };

/** A stand-in QR picture: a white square with a black frame (the real one comes from the server). */
const FAKE_QR = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#fff"/><rect x="2" y="2" width="6" height="6" fill="#000"/></svg>';

/**
 * A context (wall-sized unless `phone`) serving the pages from www/ at ORIGIN, talking to `fake`.
 * settings: the /settings.json body (null: answer 404, as a server without the endpoint).
 */
export async function mockContext(browser, fake, { phone = false, settings = { public_url: null } } = {}) {
  const context = await browser.newContext(phone ? PHONE : WALL_VIEWPORT);
  context.qrRequests = [];
  await context.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/settings.json') {
      if (settings === null) return route.fulfill({ status: 404, body: 'not found' });
      return route.fulfill({ status: 200, contentType: TYPES.json, body: JSON.stringify(settings) });
    }
    if (url.pathname === '/qr.svg') {
      context.qrRequests.push(url.searchParams.get('text'));
      return route.fulfill({ status: 200, contentType: TYPES.svg, body: FAKE_QR });
    }
    const file = PAGES[url.pathname] ?? url.pathname.slice(1);
    if (file.includes('..')) return route.fulfill({ status: 404, body: 'not found' });
    try {
      const body = await readFile(path.join(WWW, file));
      return route.fulfill({ status: 200, contentType: TYPES[path.extname(file).slice(1)] ?? 'application/octet-stream', body });
    } catch {
      return route.fulfill({ status: 404, body: 'not found' });
    }
  });
  await context.routeWebSocket(/\/admin\/ws$/, (ws) => fake.acceptAdmin(ws));
  await context.routeWebSocket(/^wss?:\/\/[^/]+\/ws(\?.*)?$/, (ws) => fake.accept(ws));
  return context;
}

/** Open `pathAndQuery` (e.g. "/wall?room=a") in a fresh mock context; collects page errors. */
export async function openMock(browser, fake, pathAndQuery, options = {}) {
  const context = await mockContext(browser, fake, options);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  await page.goto(ORIGIN + pathAndQuery);
  return page;
}

export class FakeServer {
  constructor({ history = 1000, adminToken = 'mock-admin-token-0123456789' } = {}) {
    this.history = history; // danmaku retained per room
    this.rooms = new Map(); // name -> {epoch, last, retained: [frames], epochs}
    this.conns = new Set(); // {ws, room, url, sent: [objects], received: [objects]}
    this.urls = []; // every /ws URL asked for, in order
    this.replayExtra = 0; // also replay this many already-seen danmaku before `since` (dedupe tests)
    // How a post is answered: (conn, post) => void. Default: broadcast it and ack its ref.
    this.onPost = (conn, post) => this.accept_post(conn, post);
    this.adminToken = adminToken;
    this.admins = new Set(); // {ws, authed, requests: [objects]}
    this.adminRequests = []; // every admin request after auth, in order
    this.adminUrls = []; // every /admin/ws URL connected to
    this.adminReply = (request) => ({ type: 'ok', request: request.type });
    this.state = { rooms: [], blocklist: [], bans: [] };
    // Posts still waiting for review: after `state`, each signed-in admin gets one
    // {"type":"pending",...} per entry (INTERFACE.md, "Moderation"), as a late or
    // reconnecting admin does.
    this.pending = [];
    this.epochCounter = 0;
  }

  room(name) {
    if (!this.rooms.has(name)) this.rooms.set(name, { epoch: this.newEpochName(), last: 0, retained: [] });
    return this.rooms.get(name);
  }

  newEpochName() {
    return `e${++this.epochCounter}x${Math.random().toString(36).slice(2, 6)}`;
  }

  /** A /ws connection: hello, the replay it asked for, then live frames. */
  accept(ws) {
    const url = new URL(ws.url());
    this.urls.push(url.search);
    const name = url.searchParams.get('room') ?? 'main';
    const room = this.room(name);
    const conn = { ws, room: name, url, sent: [], received: [] };
    conn.send = (obj) => { conn.sent.push(obj); ws.send(JSON.stringify(obj)); };
    this.conns.add(conn);
    ws.onMessage((text) => {
      const post = JSON.parse(String(text));
      conn.received.push(post);
      this.onPost(conn, post);
    });
    // The page closed it: finish the close handshake for it (onClose turns off the default).
    ws.onClose((code) => { this.conns.delete(conn); ws.close({ code: code ?? 1000 }).catch(() => {}); });

    const since = url.searchParams.get('since');
    const epoch = url.searchParams.get('epoch');
    const hello = { type: 'hello', room: name, epoch: room.epoch, last: room.last };
    if (since === null) return conn.send(hello);
    const sameEpoch = epoch === null || epoch === room.epoch;
    const after = Number(since);
    const replay = sameEpoch ? room.retained.filter((d) => d.id > after - this.replayExtra) : [];
    const oldest = room.retained[0]?.id ?? room.last + 1;
    conn.send({ ...hello, recovered: sameEpoch && (after >= room.last || oldest <= after + 1) });
    for (const d of replay) conn.send(d);
    return conn;
  }

  /** Broadcast a danmaku to room `name` (as if posted); returns its frame. */
  post(name, { msg, color = '#ffffff', size = 'medium', mode = 'scroll' }) {
    const room = this.room(name);
    const d = { type: 'danmaku', id: ++room.last, msg, color, size, mode, time: Date.now() };
    room.retained.push(d);
    if (room.retained.length > this.history) room.retained.shift();
    for (const c of this.conns) if (c.room === name) c.send(d);
    return d;
  }

  /** The default answer to a post: broadcast, then ack the sender's ref. */
  accept_post(conn, post) {
    const d = this.post(conn.room, post);
    if (typeof post.ref === 'string') conn.send({ type: 'ack', ref: post.ref, id: d.id });
  }

  /** Send a moderation event to every connection of room `name`. */
  event(name, obj) {
    for (const c of this.conns) if (c.room === name) c.send(obj);
  }

  /** A new epoch for room `name` (as after a server restart): ids start again from 1. */
  restartRoom(name) {
    const room = this.room(name);
    room.epoch = this.newEpochName();
    room.last = 0;
    room.retained = [];
  }

  /** Close every connection (of room `name`, or all) from the server's side. */
  async cut(name = null) {
    for (const c of [...this.conns]) {
      if (name === null || c.room === name) { this.conns.delete(c); await c.ws.close({ code: 1001, reason: 'going away' }); }
    }
  }

  connsOf(name) {
    return [...this.conns].filter((c) => c.room === name);
  }

  // ---- /admin/ws ----

  acceptAdmin(ws) {
    this.adminUrls.push(ws.url());
    const admin = { ws, authed: false };
    admin.send = (obj) => ws.send(JSON.stringify(obj));
    this.admins.add(admin);
    ws.onClose((code) => { this.admins.delete(admin); ws.close({ code: code ?? 1000 }).catch(() => {}); });
    ws.onMessage(async (text) => {
      let msg;
      try { msg = JSON.parse(String(text)); } catch { msg = null; }
      if (!admin.authed) {
        if (msg?.type !== 'auth' || msg.token !== this.adminToken) {
          this.admins.delete(admin);
          await ws.close({ code: 1008, reason: 'authentication failed' });
          return;
        }
        admin.authed = true;
        admin.send({ type: 'state', ...this.state });
        for (const p of this.pending) admin.send({ type: 'pending', ...p });
        return;
      }
      this.adminRequests.push(msg);
      admin.send(this.adminReply(msg));
    });
  }

  /** Send a frame to every signed-in admin. */
  toAdmins(obj) {
    for (const a of this.admins) if (a.authed) a.send(obj);
  }
}
