// connection.js — shared by the post page and the wall.
//
// What the post page and the wall have in common:
//   * roomFromQuery(): which room this page belongs to (from its own ?room=...);
//   * Connection: one WebSocket to /ws?room=NAME that reconnects by itself, forever,
//     with exponential backoff and jitter, and reports its state as readable text
//     (the wall adds since=/epoch= to each attempt through its `query` option);
//   * isDark(): whether a comment's colour needs a light outline rather than a dark one.

export const DEFAULT_ROOM = 'main';
// Same rule as the server: letters, digits, '-' and '_', 1 to 32 of them.
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The room named by the page's query string. The first `room=` counts
 * (URLSearchParams.get returns the first). No `room=` at all means the default room.
 * An invalid name is reported, never silently replaced by another room.
 * @returns {{room: string, error: string|null}}
 */
export function roomFromQuery(search = location.search) {
  const params = new URLSearchParams(search);
  if (!params.has('room')) return { room: DEFAULT_ROOM, error: null };
  const room = params.get('room');
  if (ROOM_PATTERN.test(room)) return { room, error: null };
  const shown = room.length > 40 ? room.slice(0, 40) + '…' : room;
  return { room, error: `invalid room “${shown}”: use 1–32 letters, digits, - or _` };
}

/** True for near-black #rrggbb colours (perceived brightness below 48 of 255). */
export function isDark(hex) {
  const n = parseInt(hex.slice(1), 16);
  return 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255) < 48;
}

/** A WebSocket URL for `path` on the same host as the page (wss when the page is https). */
export function sameOriginSocket(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/** The WebSocket URL for a room. */
export function socketUrl(room) {
  return sameOriginSocket(`/ws?room=${encodeURIComponent(room)}`);
}

// Backoff: about 1 s after the first failure, doubling up to 5 s, each delay
// randomised by ±20 % (jitter) so that a hundred phones don't all knock at once
// when the server comes back.
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 5000;
const CONNECT_TIMEOUT_MS = 10000; // give up on a handshake that hangs

export class Connection {
  // onMessage(obj): each JSON object the server sends.
  // onState(state, text): state is 'connecting', 'connected' or 'waiting' (to retry);
  // text says it for people, e.g. "reconnecting in 3 s…".
  // query(): optional, more query parameters for the next attempt, e.g. "&since=12&epoch=x"
  // (asked afresh before every attempt).
  constructor(room, { onMessage, onState, query = () => '' }) {
    this.url = socketUrl(room);
    this.query = query;
    this.onMessage = onMessage;
    this.onState = onState;
    this.ws = null;
    this.failures = 0;     // consecutive failed attempts, drives the backoff
    this.retryAt = 0;      // when the next attempt is due (ms, Date.now())
    this.retryTimer = 0;   // fires the next attempt
    this.countdown = 0;    // updates "reconnecting in N s…" once a second

    // If the device says the network is back, don't wait out the backoff.
    addEventListener('online', () => { if (this.retryTimer) this.connectNow(); });
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send one object as a JSON text frame. Returns false when not connected. */
  send(obj) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** Open the socket now (also used to start). */
  connectNow() {
    clearTimeout(this.retryTimer);
    clearInterval(this.countdown);
    this.retryTimer = this.countdown = 0;
    this.onState('connecting', 'connecting…');

    const ws = new WebSocket(this.url + this.query());
    this.ws = ws;
    window.__danmakuSocket = ws; // for tests: close it to cut the connection
    const timeout = setTimeout(() => ws.close(), CONNECT_TIMEOUT_MS);

    ws.onopen = () => {
      clearTimeout(timeout);
      if (this.ws !== ws) return;
      this.failures = 0;
      this.onState('connected', 'connected');
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return; // a socket we gave up on (see reconnectNow)
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; } // not JSON: ignore
      if (msg && typeof msg === 'object') this.onMessage(msg);
    };
    // 'error' is always followed by 'close', so all the work happens in onclose.
    ws.onclose = () => {
      clearTimeout(timeout);
      if (this.ws === ws) this.scheduleRetry();
    };
  }

  /** Drop the current socket (its messages are ignored from now on) and open a new one at once. */
  reconnectNow() {
    const old = this.ws;
    this.ws = null;
    old?.close();
    this.connectNow();
  }

  scheduleRetry() {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.failures);
    const delay = Math.min(MAX_DELAY_MS, base * (0.8 + 0.4 * Math.random()));
    this.failures++;
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connectNow(), delay);

    const tell = () => {
      const seconds = Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000));
      this.onState('waiting', `reconnecting in ${seconds} s…`);
    };
    tell();
    this.countdown = setInterval(tell, 1000);
  }
}
