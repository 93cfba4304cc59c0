// harness.mjs — what every browser test needs: the server binary, a headless Chromium,
// pages for the wall and the post page, and small waits that fail with a clear message.
//
// The server is started as a child process on `--bind 127.0.0.1:0`; we read its stdout
// until the `listening on http://127.0.0.1:PORT` line, so the port is the real one.
// `restart()` brings it back on the SAME port (the reconnect test needs that).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_BIN = process.env.DANMAKU_BIN || path.join(REPO, 'target/release/danmaku-wall');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// DANMAKU_WWW=DIR: serve the pages from a folder (--www) instead of the binary's copy,
// e.g. to try a page change without rebuilding, or to check that a test catches a bug.
const WWW_FLAGS = process.env.DANMAKU_WWW ? ['--www', path.resolve(process.env.DANMAKU_WWW)] : [];
export const SCREENSHOT_DIR = path.resolve(REPO, process.env.SCREENSHOT_DIR || 'target/screenshots');

/** Every wait in the tests is bounded by this (ms), except the burst's own longer limit. */
export const WAIT_MS = 10_000;

const LISTENING = /listening on (http:\/\/(127\.0\.0\.1):(\d+))/;

export class Server {
  /**
   * @param {string[]} flags extra flags, e.g. ['--rate', '0'] (never --bind: we choose it)
   * @param {{env?: object}} options env: variables added to the server's environment,
   *   e.g. {DANMAKU_ADMIN_TOKEN: '...'}
   */
  constructor(flags = [], { env = {} } = {}) {
    this.flags = flags;
    this.env = env;
    this.port = 0;
    this.url = null;
    this.proc = null;
    this.log = []; // the last lines of stdout and stderr, shown when something fails
  }

  /** Start on `port` (0: a free one). Resolves to the base URL, e.g. http://127.0.0.1:40123. */
  async start(port = this.port) {
    if (this.proc) throw new Error('server already running');
    if (!existsSync(SERVER_BIN)) throw new Error(`no server binary at ${SERVER_BIN}: run cargo build --release`);
    // A port just given up may still be held for a moment: retry binding it briefly.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        return await this.#startOnce(port);
      } catch (err) {
        if (port === 0 || Date.now() > deadline || !err.exitedEarly) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  #startOnce(port) {
    const args = ['--bind', `127.0.0.1:${port}`, ...WWW_FLAGS, ...this.flags];
    const env = { ...process.env, ...this.env };
    const proc = spawn(SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.proc = proc;
    const remember = (stream) => createInterface({ input: stream }).on('line', (line) => {
      this.log.push(line);
      if (this.log.length > 200) this.log.shift();
    });
    remember(proc.stderr);
    return new Promise((resolve, reject) => {
      const fail = (message, exitedEarly = false) => {
        clearTimeout(timer);
        const err = new Error(`${message}\nserver ${args.join(' ')}\n${this.log.slice(-20).join('\n')}`);
        err.exitedEarly = exitedEarly;
        if (this.proc === proc) this.proc = null;
        reject(err);
      };
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        fail(`server did not log "listening on" within ${WAIT_MS} ms`);
      }, WAIT_MS);
      proc.once('error', (err) => fail(`cannot start server: ${err.message}`));
      proc.once('exit', (code, signal) => fail(`server exited (${code ?? signal}) before listening`, true));
      const lines = createInterface({ input: proc.stdout });
      lines.on('line', (line) => {
        this.log.push(line);
        if (this.log.length > 200) this.log.shift();
        const m = LISTENING.exec(line);
        if (m && !this.url) {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          proc.removeAllListeners('error');
          this.url = m[1];
          this.port = Number(m[3]);
          resolve(this.url);
        }
      });
    });
  }

  /** SIGTERM (the server closes every WebSocket with 1001 and exits), SIGKILL after 5 s. */
  async stop() {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    this.url = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    this.lastExit = { code, signal };
  }

  /** Stop, then start again on the same port. */
  async restart() {
    const port = this.port;
    await this.stop();
    return this.start(port);
  }
}

/** Start a server with `flags` (and `options.env`); resolves to the running Server. */
export async function startServer(flags = [], options = {}) {
  const server = new Server(flags, options);
  await server.start(0);
  return server;
}

/** A file in a fresh temp folder, e.g. for --blocklist. */
export function tempFile(name, contents) {
  const dir = mkdtempSync(path.join(tmpdir(), 'danmaku-browser-'));
  const file = path.join(dir, name);
  writeFileSync(file, contents);
  return file;
}

// ---- the browser ----

export const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Headless Debian Chromium; playwright gives it a fresh temporary --user-data-dir. */
export function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (tests/browser/run.sh installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
}

export const WALL_VIEWPORT = { viewport: { width: 1280, height: 720 } };
export const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** Collect the pages' console errors and uncaught exceptions: a test can assert there were none. */
function watch(page) {
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') page.problems.push(`console: ${msg.text()}`); });
  return page;
}

/** A wall page in its own context (1280×720), waited for until it says connected. */
export async function openWall(browser, base, query, { connected = true } = {}) {
  const context = await browser.newContext(WALL_VIEWPORT);
  const page = watch(await context.newPage());
  await page.goto(`${base}/wall?${query}`);
  if (connected) await waitConnected(page);
  return page;
}

/** A post page in its own phone-sized context (375×667, touch), waited for until connected. */
export async function openPost(browser, base, query, { connected = true } = {}) {
  const context = await browser.newContext(PHONE);
  const page = watch(await context.newPage());
  await page.goto(`${base}/post?${query}`);
  if (connected) await waitConnected(page);
  return page;
}

/** An admin token long enough for the server (16 characters at least). */
export const ADMIN_TOKEN = 'browser-test-admin-token-0123456789';

/**
 * The moderation page (/admin) in its own phone-sized context. With `token`, it is typed
 * into #admin-token and sent with #admin-login, and (unless `connected: false`) waited for
 * until #status says connected.
 */
export async function openAdmin(browser, base, { token = null, connected = true, context: contextOptions = PHONE } = {}) {
  const context = await browser.newContext(contextOptions);
  const page = watch(await context.newPage());
  await page.goto(`${base}/admin`);
  if (token !== null) {
    await page.locator('#admin-token').fill(token);
    await page.locator('#admin-login').click();
    if (connected) await waitConnected(page);
  }
  return page;
}

/** Wait until the post page's #status is in `state` (sent, held, error…); resolves to its text. */
export async function waitPostState(post, state, timeout = WAIT_MS) {
  await post.waitForFunction((state) => document.getElementById('status').dataset.state === state,
    state, { timeout, polling: 50 });
  return post.locator('#status').textContent();
}

export async function waitConnected(page, timeout = WAIT_MS) {
  await page.waitForFunction(
    () => document.getElementById('status')?.dataset.state === 'connected',
    null, { timeout, polling: 50 });
}

/** Close a page and its context. */
export async function closePage(page) {
  if (page) await page.context().close();
}

/**
 * Wait until the wall shows a `.danmaku` with exactly this text; return what a person
 * sees of it: {id, text, color (computed), children, html, measuring}.
 */
export async function waitForDanmaku(wall, text, timeout = WAIT_MS) {
  const handle = await wall.waitForFunction((text) => {
    for (const el of document.querySelectorAll('#wall .danmaku')) {
      if (el.textContent === text && !el.classList.contains('measuring')) {
        return {
          id: el.dataset.id,
          text: el.textContent,
          color: getComputedStyle(el).color,
          children: el.childElementCount,
          html: el.innerHTML,
          mode: el.dataset.mode,
        };
      }
    }
    return null;
  }, text, { timeout, polling: 'raf' });
  return handle.jsonValue();
}

/**
 * In `page`, open a raw WebSocket to the room (same origin as the page), send each
 * object as JSON and collect the replies until `until(replies)` is true. Resolves to the
 * replies (parsed; the `hello` every connection starts with is left out). The page's own
 * connection is not involved.
 */
export async function rawExchange(page, room, objects, untilCount, timeout = WAIT_MS) {
  return page.evaluate(async ({ room, objects, untilCount, timeout }) => {
    const ws = new WebSocket(`ws://${location.host}/ws?room=${encodeURIComponent(room)}`);
    const replies = [];
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error('raw WebSocket failed to open'));
    });
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${replies.length} of ${untilCount} replies: ${JSON.stringify(replies)}`)), timeout);
      ws.onmessage = (e) => {
        const reply = JSON.parse(e.data);
        if (reply.type === 'hello') return; // the greeting of every connection: not a reply
        replies.push(reply);
        if (replies.length >= untilCount) { clearTimeout(timer); resolve(); }
      };
    });
    for (const o of objects) ws.send(JSON.stringify(o));
    await done;
    ws.close();
    return replies;
  }, { room, objects, untilCount, timeout });
}

/** Type a message on the post page and press Enter (a real key press in the field). */
export async function typeAndSend(post, text) {
  const box = post.locator('#msg');
  await box.fill(text);
  await box.press('Enter');
}

export function ensureScreenshotDir() {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return SCREENSHOT_DIR;
}

/** "rgb(r, g, b)" for "#rrggbb", as getComputedStyle reports colours. */
export function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

/**
 * Record every comment the wall puts on show from now on (elements come and go as
 * they fly, so looking later is not enough). `window.__seen` = {ids: Set, texts: []}:
 * one text per comment put on stage, in the order they appeared (a comment shown twice
 * counts twice), and the set of their ids. A comment counts once it is on stage
 * (no longer `.measuring`); the observer fires at least once per frame that changes the
 * wall, and a comment stays on stage far longer than a frame.
 */
export async function recordWall(page) {
  await page.evaluate(() => {
    const wall = document.getElementById('wall');
    const seen = { ids: new Set(), texts: [] };
    window.__seen = seen;
    // One entry per element put on stage (a comment shown twice would be two elements):
    // ids repeat across epochs, so they cannot be the key.
    const counted = new WeakSet();
    const scan = () => {
      for (const el of wall.querySelectorAll('.danmaku:not(.measuring)')) {
        if (!counted.has(el)) { counted.add(el); seen.ids.add(el.dataset.id); seen.texts.push(el.textContent); }
      }
    };
    new MutationObserver(scan).observe(wall, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
    scan();
  });
}

/** The texts recorded by recordWall so far. */
export function seenTexts(page) {
  return page.evaluate(() => window.__seen.texts);
}

/** Wait until recordWall has seen a comment with this text. */
export async function waitSeen(page, text, timeout = WAIT_MS) {
  await page.waitForFunction((text) => window.__seen.texts.includes(text), text, { timeout, polling: 50 });
}
