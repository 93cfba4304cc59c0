// wall.js — the big screen: every danmaku of the room flies across #wall.
//
// Life of a comment:
//   1. it arrives from the socket and joins the `waiting` queue (FIFO, at most 1000);
//   2. on the next animation frame it gets an element, inserted hidden, and measured:
//      all of the frame's new elements first, then all widths in one read, so the
//      browser lays out once per frame however big the burst;
//   3. it gets a lane where it overlaps nothing (scrollSpot, fixedSpot) and is
//      animated with the Web Animations API (transform/opacity only: no layout);
//   4. when its animation finishes, the element is removed and the queue retried.
// Without a free lane it stays queued, retried as animations end and on a timer.
//
// Around that: the connection resumes where it left off (resume.js: hello, since, epoch;
// replayed danmaku join the same queue, none twice), moderators' `delete` and `clear`
// take comments off the screen and out of the queue at once, and a corner shows the
// room's post address as text and as a QR code (#qr), which the lanes keep clear of.

import { Connection, isDark, roomFromQuery } from '/js/connection.js';
import { Resume, DEFAULT_REPLAY_MAX } from '/js/resume.js';
import { qrReserve, setUpPostAddress } from '/js/wall-address.js';

const wall = document.getElementById('wall');
const status = document.getElementById('status');

// ---- options from the query string ----

const params = new URLSearchParams(location.search);

/** A yes/no option: `fallback` when absent; 0, false, no (any case) are no, anything else yes. */
function flagParam(name, fallback) {
  if (!params.has(name)) return fallback;
  return !/^(0|false|no|off)$/i.test(params.get(name).trim());
}

/** A number from the query string, clamped to [min, max]; `fallback` when absent or not a number. */
function numberParam(name, fallback, min, max) {
  const raw = params.get(name);
  if (raw === null || raw.trim() === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

const options = {
  speed: numberParam('speed', 1, 0.1, 10), // 1.5 = 1.5× faster
  opacity: numberParam('opacity', 1, 0, 1), // of the comments
  area: numberParam('area', 1, 0.1, 1), // fraction of the height used by lanes
  maxLanes: Math.floor(numberParam('maxlanes', Infinity, 1, Infinity)),
  hidePost: flagParam('hidepost', false),
  // The QR code: shown unless ?qr=0; ?hidepost=1 (an overlay without the address) hides
  // it too, unless ?qr=1 asks for it explicitly.
  qr: flagParam('qr', !flagParam('hidepost', false)),
  replay: flagParam('replay', false), // ?replay=1: show what the room still holds on first load
  replayMax: Math.floor(numberParam('replaymax', DEFAULT_REPLAY_MAX, 0, 1000)),
};

/** ?bg=transparent (OBS), ?bg=000000, ?bg=%23223344, ?bg=navy… anything CSS accepts as a colour. */
function applyBackground(value) {
  if (value === null) return;
  let color = value.trim();
  if (!CSS.supports('color', color) && /^[0-9a-f]{3,8}$/i.test(color)) color = '#' + color;
  if (!CSS.supports('color', color)) { console.warn('danmaku-wall: ignoring bg =', value); return; }
  document.documentElement.style.background = color; // body is transparent already
}
applyBackground(params.get('bg'));
wall.style.opacity = options.opacity;

// ---- sizes and lanes ----

const BASE_SIZES = { small: 18, medium: 25, large: 36 }; // bilibili's px on a 540 px tall player
const LINE_HEIGHT = 1.2; // as in wall.css
const SCROLL_MS = 7000 / options.speed; // time to cross the screen, any length
const FIXED_MS = 4000; // top/bottom comments stay this long
const QUEUE_CAP = 1000; // >= the contract's 500 and >= the largest replaymax: a replay is never cut here

let W = 0, H = 0; // stage size in px
let scale = 1; // window height / 540, at least 1
let laneHeight = 0; // px; all lanes are equally tall
let laneCount = 0;
let gap = 0; // px kept free behind a scroll comment before the next enters its lane
// Per lane, the last scroll comment that entered it: {animation, duration, width, speed}.
let scrollLanes = [];
// Per lane, the top/bottom comment holding it: {animation, duration}. Top and bottom
// comments share these lanes, filling them from opposite ends.
let fixedLanes = [];

function layout() {
  W = innerWidth;
  H = innerHeight;
  scale = Math.max(1, H / 540);
  for (const [size, px] of Object.entries(BASE_SIZES)) wall.style.setProperty('--' + size, px * scale + 'px');
  wall.style.setProperty('--outline', Math.round(scale) + 'px');

  // A lane fits one line of medium text; large text takes two lanes (see spanOf).
  const baseLane = BASE_SIZES.medium * scale * LINE_HEIGHT;
  // Lanes stay above the QR corner (when shown), whatever `area` allows.
  const usable = Math.max(baseLane, Math.min(H * options.area, H - qrReserve(H)));
  const fits = Math.max(1, Math.floor(usable / baseLane));
  laneCount = Math.min(fits, options.maxLanes);
  // Share the leftover pixels out so the lanes fill the area exactly,
  // unless maxlanes cut their number (then they keep their natural height).
  laneHeight = laneCount === fits ? usable / laneCount : baseLane;
  gap = BASE_SIZES.medium * scale;
  // Comments already flying keep going; we just stop tracking them.
  scrollLanes = new Array(laneCount).fill(null);
  fixedLanes = new Array(laneCount).fill(null);
}

const lineHeightOf = (size) => BASE_SIZES[size] * scale * LINE_HEIGHT;

/** How many neighbouring lanes a comment of this size covers (never more than there are). */
const spanOf = (size) => Math.min(laneCount, Math.ceil(lineHeightOf(size) / laneHeight - 0.001));

/**
 * When a lane's comment ends (ms, performance.now() clock; -Infinity for none). Read from
 * its animation rather than from when we created it: a busy page may start an
 * animation a few frames late, and the animation knows when it really started.
 */
function endOf(record, now) {
  if (!record) return -Infinity;
  return now + record.duration - (record.animation.currentTime ?? record.duration);
}

/**
 * The earliest time a scroll comment `width` px wide may enter `lane`, given the
 * comment ahead of it there. Every scroll comment crosses in the same time, so a
 * wider one is faster: speed = (W + width) / SCROLL_MS. Two conditions:
 *   - the one ahead has fully entered, with `gap` px behind its tail;
 *   - we will not catch up: our head reaches the left edge no sooner than the
 *     tail of the one ahead does (both move linearly, so checking the ends is enough).
 */
function scrollReadyAt(lane, width, now) {
  const ahead = scrollLanes[lane];
  if (!ahead) return -Infinity;
  const start = endOf(ahead, now) - ahead.duration;
  const speed = (W + width) / SCROLL_MS;
  const tailIn = start + (ahead.width + gap) / ahead.speed;
  const noCatchUp = start + ahead.duration - W / speed;
  return Math.max(tailIn, noCatchUp);
}

/** First lane (top down) free now for a scroll comment → {lane}, else {lane: -1, readyAt}. */
function scrollSpot(item, now) {
  const span = spanOf(item.d.size);
  let readyAt = Infinity;
  for (let first = 0; first + span <= laneCount; first++) {
    let ready = -Infinity; // all the lanes it covers must be ready
    for (let l = first; l < first + span; l++) ready = Math.max(ready, scrollReadyAt(l, item.width, now));
    if (ready <= now) return { lane: first, span };
    readyAt = Math.min(readyAt, ready);
  }
  return { lane: -1, readyAt };
}

/** First free lane for a top comment (from the top down) or bottom one (from the bottom up). */
function fixedSpot(item, now) {
  const span = spanOf(item.d.size);
  let readyAt = Infinity;
  for (let k = 0; k + span <= laneCount; k++) {
    const first = item.d.mode === 'top' ? k : laneCount - span - k;
    let freeAt = -Infinity;
    for (let l = first; l < first + span; l++) freeAt = Math.max(freeAt, endOf(fixedLanes[l], now));
    if (freeAt <= now) return { lane: first, span };
    readyAt = Math.min(readyAt, freeAt);
  }
  return { lane: -1, readyAt };
}

// ---- the queue and the per-frame pump ----

/** Comments not on screen yet, oldest first: {d: danmaku, el: Element|null, width: px}. */
const waiting = [];
let dropped = 0;
let frameRequested = false;
let retryTimer = 0;

function enqueue(d) {
  waiting.push({ d, el: null, width: 0 });
  if (waiting.length > QUEUE_CAP) {
    const oldest = waiting.shift();
    oldest.el?.remove();
    wall.dataset.dropped = ++dropped; // visible in dev tools; nothing is lost silently
  }
  requestPump();
}

function requestPump() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(pump);
}

function pump() {
  frameRequested = false;
  clearTimeout(retryTimer);

  // 1. Writes: an element for every newcomer, inserted hidden.
  const fresh = waiting.filter((item) => !item.el);
  for (const item of fresh) wall.append(item.el = createElement(item.d));
  // 2. Reads: all widths at once — one layout for the whole batch.
  for (const item of fresh) item.width = item.el.getBoundingClientRect().width;

  // 3. Writes only from here on: show what fits, in arrival order. Once a comment
  // finds no lane, later ones of its mode wait too (keeping their order), while
  // other modes still go: full scroll lanes don't hold up top comments.
  const now = performance.now();
  const blocked = new Set();
  const stillWaiting = [];
  let nextTry = Infinity;
  for (const item of waiting) {
    const mode = item.d.mode;
    const spot = blocked.has(mode) ? { lane: -1, readyAt: Infinity }
      : mode === 'scroll' ? scrollSpot(item, now) : fixedSpot(item, now);
    if (spot.lane >= 0) {
      show(item, spot.lane, spot.span);
    } else {
      blocked.add(mode);
      nextTry = Math.min(nextTry, spot.readyAt);
      item.el.remove(); // measured; it waits off the page
      stillWaiting.push(item);
    }
  }
  waiting.length = 0;
  waiting.push(...stillWaiting);
  wall.dataset.queued = waiting.length;

  // Come back when the first lane is due to free up (animations ending also call us).
  if (waiting.length) {
    const delay = Math.min(1000, Math.max(30, nextTry - now));
    retryTimer = setTimeout(requestPump, delay);
  }
}

function createElement(d) {
  const el = document.createElement('div');
  el.className = `danmaku measuring size-${d.size}`;
  el.dataset.id = d.id;
  el.dataset.mode = d.mode;
  el.textContent = d.msg;     // plain text, always: never innerHTML for what people typed
  el.style.color = d.color;
  if (isDark(d.color)) el.classList.add('dark');
  return el;
}

/** Put a measured comment on stage in `lane` (covering `span` lanes) and animate it. */
function show(item, lane, span) {
  const { el, d } = item;
  let width = item.width;
  if (!el.isConnected) wall.append(el);
  el.classList.remove('measuring');

  let animation;
  if (d.mode === 'scroll') {
    // From just off the right edge to just off the left edge.
    animation = el.animate(
      [{ transform: `translateX(${W}px)` }, { transform: `translateX(${-width}px)` }],
      { duration: SCROLL_MS, easing: 'linear' });
    const record = { animation, duration: SCROLL_MS, width, speed: (W + width) / SCROLL_MS };
    for (let l = lane; l < lane + span; l++) scrollLanes[l] = record;
  } else {
    // Too wide for the screen? Shrink the font to fit (width scales with it).
    if (width > W * 0.96) {
      const fit = W * 0.96 / width;
      el.style.fontSize = BASE_SIZES[d.size] * scale * fit + 'px';
      width *= fit;
    }
    el.style.transform = `translateX(${(W - width) / 2}px)`; // centred
    // Stays put; only fades in and out.
    animation = el.animate(
      [{ opacity: 0 }, { opacity: 1, offset: 0.04 }, { opacity: 1, offset: 0.94 }, { opacity: 0 }],
      { duration: FIXED_MS });
    const record = { animation, duration: FIXED_MS };
    for (let l = lane; l < lane + span; l++) fixedLanes[l] = record;
  }
  // Centre the text line vertically in the lanes it covers.
  el.style.top = lane * laneHeight + (span * laneHeight - lineHeightOf(d.size)) / 2 + 'px';

  animation.onfinish = () => {
    el.remove();
    if (waiting.length) requestPump();
  };
}

// ---- moderation: delete and clear (repeating either is harmless) ----

/** Take a comment off the stage: stop its animation (which frees its lanes) and remove it. */
function takeDown(el) {
  for (const animation of el.getAnimations()) animation.cancel();
  el.remove();
}

function deleteDanmaku(id) {
  const keep = waiting.filter((item) => item.d.id !== id);
  for (const item of waiting) if (item.d.id === id) item.el?.remove();
  waiting.length = 0;
  waiting.push(...keep);
  for (const el of wall.querySelectorAll('.danmaku')) if (el.dataset.id === String(id)) takeDown(el);
  wall.dataset.queued = waiting.length;
  if (waiting.length) requestPump();
}

function clearWall() {
  for (const item of waiting) item.el?.remove();
  waiting.length = 0;
  for (const el of wall.querySelectorAll('.danmaku')) takeDown(el);
  scrollLanes.fill(null);
  fixedLanes.fill(null);
  wall.dataset.queued = 0;
}

// ---- messages from the server ----

const MODES = ['scroll', 'top', 'bottom'];
const resume = new Resume({ replayFirst: options.replay, replayMax: options.replayMax });
let connection = null;

function onMessage(m) {
  if (m.type === 'hello') {
    if (resume.hello(m) === 'resync') connection.reconnectNow(); // a new epoch: fetch what it holds
    if (m.recovered === false) wall.dataset.recovered = 'false'; // some were missed for good
  } else if (m.type === 'delete') {
    deleteDanmaku(m.id);
  } else if (m.type === 'clear') {
    clearWall();
  } else if (m.type === 'danmaku') {
    if (resume.accept(m) === 'show') showDanmaku(m);
  }
  if (resume.epoch !== null) {
    wall.dataset.epoch = resume.epoch;
    wall.dataset.last = resume.last;
  }
}

function showDanmaku(m) {
  // Trust nothing: fall back to defaults rather than render something odd.
  enqueue({
    id: m.id,
    msg: String(m.msg ?? ''),
    color: /^#[0-9a-f]{6}$/i.test(m.color) ? m.color : '#ffffff',
    size: Object.hasOwn(BASE_SIZES, m.size) ? m.size : 'medium',
    mode: MODES.includes(m.mode) ? m.mode : 'scroll',
  });
}

let quietTimer = 0;
function onState(state, text) {
  status.textContent = text;
  status.dataset.state = state;
  status.classList.remove('quiet');
  clearTimeout(quietTimer);
  if (state === 'connected') quietTimer = setTimeout(() => status.classList.add('quiet'), 4000);
}

// ---- start ----

const { room, error: roomError } = roomFromQuery();
document.title = `Danmaku wall · ${room}`;

function relayout() {
  layout();
  // Waiting comments were measured at the old size: measure them again.
  for (const item of waiting) { item.el?.remove(); item.el = null; }
  requestPump();
}

// The address corner first: the lanes end above it.
setUpPostAddress(room, { showQr: options.qr, hideLabel: options.hidePost, valid: roomError === null, onResize: relayout });
layout();
addEventListener('resize', relayout);

if (roomError) {
  onState('error', roomError);
} else {
  connection = new Connection(room, { onMessage, onState, query: () => resume.query() });
  connection.connectNow();
}
