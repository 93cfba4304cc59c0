// post.js — the phone page that sends danmaku to a room.
//
// Flow: the form is sent as one JSON text frame carrying a `ref` of our own making
// (unique per page: a counter and a random part). The server answers that post, to us
// alone and with the same ref, by {"type":"ack","ref":R,"id":N} once it is broadcast,
// {"type":"error","ref":R,"error":"..."} when it is refused (#status shows the reason
// word for word), or {"type":"held","ref":R} when the room holds posts for review (an
// ack follows if a moderator approves it while we are connected). Own posts are
// recognised by ref alone, never by their text: two people may send the same words.
// The room's broadcasts (danmaku, hello…) are not the post page's business.

import { Connection, isDark, roomFromQuery } from '/js/connection.js';

const MAX_CHARS = 100;                       // Unicode code points, after trimming
const SETTINGS_KEY = 'danmaku-wall:post';    // last colour/size/mode in localStorage
const NO_REPLY_MS = 5000;                    // say so if the server stays silent this long

const form = document.getElementById('post-form');
const msgBox = form.elements.msg;
const counter = document.getElementById('counter');
const status = document.getElementById('status');
const preview = document.querySelector('#preview span');
const customRadio = document.getElementById('custom-radio');
const customColor = document.getElementById('custom-color');

/** Length in Unicode code points ("😀" is 1, although it is 2 UTF-16 units). */
const codePoints = (text) => [...text].length;

/** #status holds one line: the latest news, either about the connection or about the last post. */
function setStatus(text, state, id = null) {
  status.textContent = text;
  // The id of the danmaku our last post became (from its ack), for tests and curious people.
  if (id === null) delete status.dataset.id;
  else status.dataset.id = id;
  status.dataset.state = state; // styles the dot: connecting | connected | waiting | sent | held | error
}

// ---- room ----

const { room, error: roomError } = roomFromQuery();
document.getElementById('room-name').textContent = room;
document.getElementById('wall-link').href = '/wall?room=' + encodeURIComponent(room);
document.title = `Post to ${room} · danmaku`;

// ---- colour, size, mode: remembered between visits ----

// Paint each preset swatch with its radio's value (one source of truth, and no
// inline style attributes in the HTML).
for (const swatch of form.querySelectorAll('.swatches input[type=radio] + span')) {
  swatch.style.setProperty('--c', swatch.previousElementSibling.value);
}

/** Keep the custom radio's value equal to the colour picker, and select it. */
function useCustomColor() {
  customRadio.value = customColor.value.toLowerCase();
  customRadio.checked = true;
  updatePreview();
}
customColor.addEventListener('input', useCustomColor);
customColor.addEventListener('change', useCustomColor);
customColor.addEventListener('click', useCustomColor);

function saveSettings() {
  const { color, size, mode } = form.elements;
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify({ color: color.value, size: size.value, mode: mode.value }));
  } catch { /* storage may be disabled (private mode): not worth an error */ }
}

function restoreSettings() {
  let saved;
  try { saved = JSON.parse(localStorage.getItem(SETTINGS_KEY)); } catch { return; }
  if (!saved) return;
  for (const name of ['size', 'mode']) {
    const radio = form.querySelector(`input[name=${name}][value="${CSS.escape(String(saved[name]))}"]`);
    if (radio) radio.checked = true;
  }
  if (/^#[0-9a-f]{6}$/i.test(saved.color)) {
    const preset = form.querySelector(`input[name=color][value="${saved.color.toLowerCase()}"]:not(#custom-radio)`);
    if (preset) preset.checked = true;
    else { customColor.value = saved.color; useCustomColor(); }
  }
}

// ---- live counter and preview ----

function updatePreview() {
  const { msg, color, size } = form.elements;
  const text = msg.value.trim();
  const n = codePoints(text);
  counter.textContent = `${n}/${MAX_CHARS}`;
  counter.classList.toggle('over', n > MAX_CHARS);
  preview.textContent = text || 'Preview';
  preview.style.color = color.value;
  preview.className = 'size-' + size.value;
  preview.classList.toggle('dark', isDark(color.value)); // as on the wall: light outline
}
form.addEventListener('input', updatePreview);
form.addEventListener('change', () => { updatePreview(); saveSettings(); });

// ---- sending ----

// Posts sent and not yet settled, by ref: {text}. Held posts stay until approved (ack).
const pending = new Map();
// "p<counter>-<random>": the counter keeps refs unique on this page, the random part
// tells this page from another one (the ref only has to be unique per connection, but a
// random part costs nothing and makes logs easier to follow).
const PAGE_TAG = Math.random().toString(36).slice(2, 8);
let refCounter = 0;
const nextRef = () => `p${++refCounter}-${PAGE_TAG}`;
let noReplyTimer = 0;

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (roomError) { setStatus(roomError, 'error'); return; }
  // No checks of our own: an empty, too long or control-character message goes to the
  // server too, so #status shows its reason verbatim (the contract), never a paraphrase.
  // The counter above the field already shows the length as it is typed.
  const text = msgBox.value.trim();

  const { color, size, mode } = form.elements;
  const ref = nextRef();
  const sent = conn.send({ msg: text, color: color.value, size: size.value, mode: mode.value, ref });
  if (!sent) { setStatus('not connected — message not sent', 'error'); return; }

  pending.set(ref, { text });
  saveSettings();
  setStatus('sending…', 'connecting');
  clearTimeout(noReplyTimer);
  noReplyTimer = setTimeout(() => {
    if ([...pending.values()].some((p) => !p.held)) setStatus('no reply from the server yet…', 'waiting');
  }, NO_REPLY_MS);
});

// With an input method (Chinese, Japanese…), Enter confirms the composition:
// it must not also send the half-typed message.
msgBox.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.isComposing || event.keyCode === 229)) event.preventDefault();
});

function onMessage(msg) {
  // Only replies to our own posts carry our refs; everything else (hello, danmaku of
  // the room, replies without a ref we know) is ignored, except a ref-less error.
  const post = typeof msg.ref === 'string' ? pending.get(msg.ref) : undefined;
  if (msg.type === 'ack' && post) {
    pending.delete(msg.ref);
    clearTimeout(noReplyTimer);
    setStatus(post.held ? 'approved and sent ✓' : 'sent ✓', 'sent', Number.isSafeInteger(msg.id) ? msg.id : null);
    // Clear the box, unless the user has already started typing something else.
    if (msgBox.value.trim() === post.text) { msgBox.value = ''; updatePreview(); }
  } else if (msg.type === 'held' && post) {
    post.held = true;
    clearTimeout(noReplyTimer);
    setStatus('held for review: a moderator will decide', 'held');
    if (msgBox.value.trim() === post.text) { msgBox.value = ''; updatePreview(); }
  } else if (msg.type === 'error' && (post || msg.ref === undefined)) {
    // A ref-less error is about something we sent too (the server answers every post).
    if (post) pending.delete(msg.ref);
    clearTimeout(noReplyTimer);
    setStatus(String(msg.error), 'error'); // verbatim
  }
}

function onState(state, text) {
  if (state !== 'connected') pending.clear(); // answers to those will never come
  setStatus(text, state);
}

// ---- start ----

restoreSettings();
updatePreview();
const conn = new Connection(room, { onMessage, onState });
if (roomError) {
  setStatus(roomError, 'error');
  form.elements.send.disabled = true;
} else {
  conn.connectNow();
}
