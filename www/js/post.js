// post.js — the phone page that sends danmaku to a room.
//
// Flow: the form is sent as one JSON text frame; the server broadcasts accepted
// danmaku to everyone in the room, the sender included. So "sent" means: we saw our
// own text come back as a danmaku. A rejection comes back to us alone as
// {"type":"error","error":"..."}, and #status shows that reason word for word.

import { Connection, isDark, roomFromQuery } from '/js/connection.js';

const MAX_CHARS = 100;                       // Unicode code points, after trimming
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
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
function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state; // styles the dot: connecting | connected | waiting | sent | error
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

// Posts sent but not yet answered, oldest first. The server answers in order:
// either our danmaku comes back (matched by its text) or an error arrives.
const pending = [];
let noReplyTimer = 0;

/** Local checks, so obvious mistakes don't need a round trip. null = looks fine. */
function localProblem(text) {
  if (text === '') return 'type a message first';
  const n = codePoints(text);
  if (n > MAX_CHARS) return `too long: ${n} characters, at most ${MAX_CHARS}`;
  if (CONTROL_CHARS.test(text)) return 'the message contains control characters';
  return null;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (roomError) { setStatus(roomError, 'error'); return; }
  const text = msgBox.value.trim();
  const problem = localProblem(text);
  if (problem) { setStatus(problem, 'error'); msgBox.focus(); return; }

  const { color, size, mode } = form.elements;
  const sent = conn.send({ msg: text, color: color.value, size: size.value, mode: mode.value });
  if (!sent) { setStatus('not connected — message not sent', 'error'); return; }

  pending.push(text);
  saveSettings();
  setStatus('sending…', 'connecting');
  clearTimeout(noReplyTimer);
  noReplyTimer = setTimeout(() => {
    if (pending.length) setStatus('no reply from the server yet…', 'waiting');
  }, NO_REPLY_MS);
});

// With an input method (Chinese, Japanese…), Enter confirms the composition:
// it must not also send the half-typed message.
msgBox.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.isComposing || event.keyCode === 229)) event.preventDefault();
});

function onMessage(msg) {
  if (msg.type === 'danmaku') {
    const i = pending.indexOf(msg.msg);
    if (i === -1) return; // someone else's comment
    pending.splice(i, 1);
    clearTimeout(noReplyTimer);
    setStatus('sent ✓', 'sent');
    // Clear the box, unless the user has already started typing something else.
    if (msgBox.value.trim() === msg.msg) { msgBox.value = ''; updatePreview(); }
  } else if (msg.type === 'error') {
    pending.shift(); // the oldest post is the one being refused
    clearTimeout(noReplyTimer);
    setStatus(String(msg.error), 'error'); // verbatim
  }
}

function onState(state, text) {
  if (state !== 'connected') pending.length = 0; // answers to those will never come
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
