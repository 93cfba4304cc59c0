// admin.js — the moderation page (GET /admin), talking to /admin/ws.
//
// Protocol (INTERFACE.md, "Moderation"): the first message is {"type":"auth","token":...};
// the server answers with {"type":"state",rooms,blocklist,bans} or closes with 1008 (a
// refused token). Right after `state` come one `pending` per post still waiting for review;
// then it streams `room`, `post`, `pending` and `decided` (a held post approved or rejected
// by another admin) messages, and answers each of our requests with exactly one `ok` or
// `error`, in order: so the requests in flight are a FIFO, and each reply settles the oldest.
//
// #pending mirrors the server's list of posts still waiting: every `state` (first sign-in
// and every reconnect) empties it, and the `pending` messages that follow refill it, so a
// reconnect never leaves a stale or duplicated entry.
//
// The token lives in sessionStorage (this tab only; gone when it closes), never in an
// address or a cookie. A dropped connection is retried with backoff and signs in again
// with the stored token; a refused token is forgotten and not retried (retrying would
// only earn the address a lock-out).

import { sameOriginSocket } from '/js/connection.js';
import { h, clock, Backoff } from '/js/admin-ui.js';

const TOKEN_KEY = 'danmaku-wall:admin-token';
const FEED_MAX = 500; // posts kept in #feed, newest first
const LOG_MAX = 30; // replies kept in #log
const BAN_SECONDS = 600; // the feed's ban button mutes for 10 minutes
const CONNECT_TIMEOUT_MS = 10000;

const $ = (id) => document.getElementById(id);
const status = $('status');
const tokenBox = $('admin-token');
const roomsBox = $('rooms');
const feedBox = $('feed');
const pendingBox = $('pending');
const blocklistBox = $('blocklist');
const bansBox = $('bans');
const logBox = $('log');

function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state; // idle | connecting | connected | waiting | error
}

let memoryToken = null; // used when sessionStorage is disabled

function storedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}
function storeToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch { /* storage disabled: the token lasts as long as this page */ }
  memoryToken = token;
}

// ---- the connection ----

let socket = null;
let authed = false; // `state` received on the current socket
let inflight = []; // requests awaiting their ok/error, oldest first
const backoff = new Backoff();
let retryTimer = 0;

function connect() {
  clearTimeout(retryTimer);
  const token = storedToken() ?? memoryToken;
  if (!token) { setStatus('signed out', 'idle'); showSignedIn(false); return; }
  drop();
  setStatus('connecting…', 'connecting');
  const ws = new WebSocket(sameOriginSocket('/admin/ws'));
  socket = ws;
  window.__adminSocket = ws; // for tests
  const timeout = setTimeout(() => ws.close(), CONNECT_TIMEOUT_MS);
  ws.onopen = () => {
    if (socket !== ws) return;
    setStatus('signing in…', 'connecting');
    ws.send(JSON.stringify({ type: 'auth', token }));
  };
  ws.onmessage = (event) => {
    if (socket !== ws) return;
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (msg && typeof msg === 'object') onMessage(msg);
  };
  ws.onclose = (event) => {
    clearTimeout(timeout);
    if (socket !== ws) return;
    const wasAuthed = authed;
    socket = null;
    authed = false;
    abandonInflight();
    if (!wasAuthed && event.code === 1008) {
      // The server refuses the token: forget it, show the form again, don't retry.
      storeToken(null);
      showSignedIn(false);
      setStatus('token refused: check it and sign in again', 'error');
      return;
    }
    const delay = backoff.next();
    setStatus(`connection lost: reconnecting in ${Math.ceil(delay / 1000)} s…`, 'waiting');
    retryTimer = setTimeout(connect, delay);
  };
}

/** Close the current socket, if any, without reacting to its close. */
function drop() {
  const ws = socket;
  socket = null;
  authed = false;
  abandonInflight();
  ws?.close();
}

function abandonInflight() {
  const lost = inflight;
  inflight = [];
  for (const request of lost) request.onLost?.();
}

/**
 * Send one admin request; `what` says it for the log. `onOk(reply)` / `onError(reason)`
 * run when its reply comes, `onLost()` if the connection goes first.
 */
function request(obj, what, { onOk, onError, onLost } = {}) {
  if (!authed || socket?.readyState !== WebSocket.OPEN) {
    log(false, `${what}: not connected`);
    onLost?.();
    return false;
  }
  socket.send(JSON.stringify(obj));
  inflight.push({ what, onOk, onError, onLost });
  return true;
}

function onReply(ok, msg) {
  const request = inflight.shift();
  if (!request) return; // a reply to nothing we asked: ignore
  if (ok) {
    log(true, request.what);
    request.onOk?.(msg);
  } else {
    const reason = String(msg.error ?? 'refused');
    log(false, `${request.what}: ${reason}`);
    request.onError?.(reason);
  }
}

function onMessage(msg) {
  switch (msg.type) {
    case 'state':
      authed = true;
      backoff.reset();
      showSignedIn(true);
      setStatus('connected', 'connected');
      renderState(msg);
      break;
    case 'room': upsertRoom(msg); break;
    case 'post': addPost(msg); break;
    case 'pending': addPending(msg); break;
    case 'decided': removePending(msg.room, msg.key); break;
    case 'ok': onReply(true, msg); break;
    case 'error': onReply(false, msg); break;
    default: break; // unknown: ignore
  }
}

// ---- the log of replies ----

function log(ok, text) {
  logBox.prepend(h('li', { className: ok ? 'ok' : 'error' }, `${clock(Date.now())} ${ok ? '✓' : '✗'} ${text}`));
  while (logBox.childElementCount > LOG_MAX) logBox.lastElementChild.remove();
}

// ---- state ----

function renderState(state) {
  for (const el of roomsBox.querySelectorAll('.room')) el.remove();
  for (const room of Array.isArray(state.rooms) ? state.rooms : []) upsertRoom(room);
  blocklist = new Set((Array.isArray(state.blocklist) ? state.blocklist : []).map(String));
  renderBlocklist();
  bans = new Map();
  for (const ban of Array.isArray(state.bans) ? state.bans : []) {
    if (typeof ban?.address === 'string') bans.set(ban.address, Number(ban.until) || 0);
  }
  renderBans();
  // The server follows `state` with every post still waiting: start the list afresh.
  pendingBox.querySelectorAll('.pending').forEach((el) => el.remove());
  countPending();
}

// ---- rooms ----

function roomElement(name) {
  const existing = [...roomsBox.querySelectorAll('.room')].find((el) => el.dataset.room === name);
  if (existing) return existing;
  const el = h('div', { className: 'room', dataset: { room: name } },
    h('div', { className: 'room-head' },
      h('b', { className: 'name' }, name),
      h('span', { className: 'members' }),
      h('span', { className: 'last' }),
      h('a', { href: '/wall?room=' + encodeURIComponent(name), target: '_blank', rel: 'noopener' }, 'wall ↗')),
    h('div', { className: 'room-controls' },
      h('label', {}, h('input', { type: 'checkbox', className: 'hold' }), ' hold for review'),
      h('label', {}, h('input', { type: 'checkbox', className: 'lock' }), ' lock'),
      h('label', {}, 'slow ', h('input', { type: 'number', className: 'slow', min: 0, step: 1, value: 0, inputMode: 'numeric' }), ' s'),
      h('button', { type: 'button', className: 'clear' }, 'Clear wall')));
  const hold = el.querySelector('.hold');
  const lock = el.querySelector('.lock');
  const slow = el.querySelector('.slow');
  hold.addEventListener('change', () => toggle(el, hold, 'hold'));
  lock.addEventListener('change', () => toggle(el, lock, 'lock'));
  slow.addEventListener('change', () => {
    const seconds = Math.max(0, Math.floor(Number(slow.value) || 0));
    slow.value = seconds;
    request({ type: 'slow', room: name, seconds }, `slow ${name} ${seconds} s`, {
      onError: () => { slow.value = el.dataset.slow ?? 0; },
    });
  });
  el.querySelector('.clear').addEventListener('click', () => {
    request({ type: 'clear', room: name }, `clear ${name}`);
  });
  // Keep the rooms in name order.
  const after = [...roomsBox.querySelectorAll('.room')].find((other) => other.dataset.room > name);
  roomsBox.insertBefore(el, after ?? null);
  return el;
}

function toggle(el, box, type) {
  const name = el.dataset.room;
  request({ type, room: name, on: box.checked }, `${type} ${name} ${box.checked ? 'on' : 'off'}`, {
    onError: () => { box.checked = el.dataset[type] === 'true'; },
    onLost: () => { box.checked = el.dataset[type] === 'true'; },
  });
}

function upsertRoom(r) {
  if (typeof r?.room !== 'string') return;
  const el = roomElement(r.room);
  const members = Number(r.members) || 0;
  el.querySelector('.members').textContent = `${members} connected`;
  el.querySelector('.last').textContent = `last #${Number(r.last) || 0}`;
  el.dataset.hold = String(r.hold === true);
  el.dataset.lock = String(r.lock === true);
  el.dataset.slow = String(Number(r.slow) || 0);
  el.querySelector('.hold').checked = r.hold === true;
  el.querySelector('.lock').checked = r.lock === true;
  const slow = el.querySelector('.slow');
  if (document.activeElement !== slow) slow.value = el.dataset.slow; // don't fight the typist
  el.classList.toggle('held', r.hold === true);
  el.classList.toggle('locked', r.lock === true);
}

// ---- feed ----

const feedIndex = new Map(); // "room\nid" -> element

function addPost(p) {
  if (typeof p.room !== 'string') return;
  const key = `${p.room}\n${p.id}`;
  feedIndex.get(key)?.remove();
  const from = typeof p.from === 'string' && p.from !== '' ? p.from : null;
  const el = h('div', { className: 'post', dataset: { room: p.room, id: String(p.id) } },
    h('span', { className: 'swatch', style: `--c:${/^#[0-9a-f]{6}$/i.test(p.color) ? p.color : '#ffffff'}` }),
    h('div', { className: 'body' },
      h('span', { className: 'text' }, String(p.msg ?? '')),
      h('small', { className: 'meta' }, `${p.room} · #${p.id} · ${clock(p.time)} · ${from ?? 'unknown address'}`)),
    h('div', { className: 'actions' },
      h('button', { type: 'button', className: 'delete' }, 'Delete'),
      h('button', { type: 'button', className: 'ban', disabled: from === null, title: 'mute this address for 10 minutes' }, 'Mute')));
  const del = el.querySelector('.delete');
  del.addEventListener('click', () => {
    del.disabled = true;
    request({ type: 'delete', room: p.room, id: p.id }, `delete ${p.room} #${p.id}`, {
      onOk: () => { el.classList.add('deleted'); del.textContent = 'Deleted'; },
      onError: () => { del.disabled = false; },
      onLost: () => { del.disabled = false; },
    });
  });
  el.querySelector('.ban').addEventListener('click', () => ban(from, BAN_SECONDS));
  feedIndex.set(key, el);
  feedBox.prepend(el);
  while (feedIndex.size > FEED_MAX) {
    const oldest = feedBox.querySelector('.post:last-of-type');
    feedIndex.delete(`${oldest.dataset.room}\n${oldest.dataset.id}`);
    oldest.remove();
  }
}

// ---- pending (held for review) ----

/** The `.pending` element for (room, key), or undefined. */
function pendingElement(room, key) {
  return [...pendingBox.querySelectorAll('.pending')]
    .find((el) => el.dataset.room === room && el.dataset.key === key);
}

/** `decided`: another admin (or node) approved or rejected it; an unknown key is harmless. */
function removePending(room, key) {
  if (typeof room !== 'string' || key === undefined || key === null) return;
  pendingElement(room, String(key))?.remove();
  countPending();
}

function addPending(p) {
  if (typeof p.room !== 'string' || p.key === undefined || p.key === null) return;
  const key = String(p.key);
  if (pendingElement(p.room, key)) return; // one element per key
  const el = h('div', { className: 'pending', dataset: { room: p.room, key } },
    h('span', { className: 'swatch', style: `--c:${/^#[0-9a-f]{6}$/i.test(p.color) ? p.color : '#ffffff'}` }),
    h('div', { className: 'body' },
      h('span', { className: 'text' }, String(p.msg ?? '')),
      h('small', { className: 'meta' }, `${p.room} · ${p.size ?? 'medium'} ${p.mode ?? 'scroll'} · ${p.from ?? 'unknown address'}`)),
    h('div', { className: 'actions' },
      h('button', { type: 'button', className: 'approve' }, 'Approve'),
      h('button', { type: 'button', className: 'reject' }, 'Reject')));
  const buttons = el.querySelectorAll('button');
  const decide = (type) => {
    for (const b of buttons) b.disabled = true;
    // Either reply settles it: an error means the key is unknown or already decided.
    const done = () => { el.remove(); countPending(); };
    request({ type, room: p.room, key: p.key }, `${type} ${p.room} “${String(p.msg ?? '').slice(0, 30)}”`, {
      onOk: done, onError: done, onLost: () => { for (const b of buttons) b.disabled = false; },
    });
  };
  el.querySelector('.approve').addEventListener('click', () => decide('approve'));
  el.querySelector('.reject').addEventListener('click', () => decide('reject'));
  pendingBox.append(el);
  countPending();
}

function countPending() {
  $('pending-count').textContent = pendingBox.querySelectorAll('.pending').length;
}

// ---- blocklist ----

let blocklist = new Set();

function renderBlocklist() {
  blocklistBox.replaceChildren(...[...blocklist].sort().map((word) => {
    const remove = h('button', { type: 'button', className: 'remove', 'aria-label': `unblock ${word}` }, '×');
    remove.addEventListener('click', () => {
      remove.disabled = true;
      request({ type: 'blocklist', add: [], remove: [word] }, `unblock “${word}”`, {
        onOk: () => { blocklist.delete(word); renderBlocklist(); },
        onError: () => { remove.disabled = false; },
        onLost: () => { remove.disabled = false; },
      });
    });
    return h('li', { className: 'word', dataset: { word } }, h('span', {}, word), remove);
  }));
}

$('blocklist-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('blocklist-word');
  const word = input.value.trim();
  if (!word) return;
  request({ type: 'blocklist', add: [word], remove: [] }, `block “${word}”`, {
    onOk: () => { blocklist.add(word); renderBlocklist(); input.value = ''; },
  });
});

// ---- bans ----

let bans = new Map(); // address -> until (Unix ms)

function ban(address, seconds) {
  if (!address) return;
  const what = seconds === 0 ? `unmute ${address}` : `mute ${address} for ${Math.round(seconds / 60)} min`;
  request({ type: 'ban', address, seconds }, what, {
    onOk: () => {
      if (seconds === 0) bans.delete(address);
      else bans.set(address, Date.now() + seconds * 1000);
      renderBans();
    },
  });
}

function renderBans() {
  const now = Date.now();
  for (const [address, until] of bans) if (until && until <= now) bans.delete(address);
  bansBox.replaceChildren(...[...bans].map(([address, until]) => {
    const lift = h('button', { type: 'button', className: 'lift' }, 'Lift');
    lift.addEventListener('click', () => ban(address, 0));
    const left = Math.max(1, Math.ceil((until - now) / 60000));
    return h('li', { className: 'ban-entry', dataset: { address } },
      h('span', { className: 'address' }, address),
      h('small', { className: 'meta' }, until ? ` until ${clock(until)} (${left} min)` : ''),
      lift);
  }));
}
setInterval(renderBans, 15000);

$('ban-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const address = $('ban-address').value.trim();
  const minutes = Math.max(1, Math.floor(Number($('ban-minutes').value) || 10));
  if (address) ban(address, minutes * 60);
});

// ---- signing in and out ----

function showSignedIn(signedIn) {
  document.body.classList.toggle('signed-in', signedIn);
  $('admin-logout').hidden = !signedIn;
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenBox.value.trim();
  if (!token) { setStatus('type the admin token first', 'error'); tokenBox.focus(); return; }
  storeToken(token);
  tokenBox.value = ''; // not left lying in the page
  backoff.reset();
  connect();
});

$('admin-logout').addEventListener('click', () => {
  storeToken(null);
  clearTimeout(retryTimer);
  drop();
  showSignedIn(false);
  setStatus('signed out', 'idle');
});

// ---- start: sign in again with this tab's token, if it has one ----

connect();
