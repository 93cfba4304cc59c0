// index.js — keeps the room links under the form in step with the room name typed.
// (The form itself works without this: its buttons submit ?room=NAME to /post or /wall.)

import { ROOM_PATTERN } from '/js/connection.js';

const input = document.getElementById('room');
const hint = document.getElementById('room-hint');
const links = { post: document.getElementById('room-post'), wall: document.getElementById('room-wall') };

function update() {
  const room = input.value.trim();
  const ok = ROOM_PATTERN.test(room);
  hint.classList.toggle('bad', !ok);
  for (const [page, a] of Object.entries(links)) {
    const href = `/${page}?room=${encodeURIComponent(room)}`;
    a.href = ok ? href : '#room';
    a.textContent = ok ? href : `/${page}?room=… (invalid room name)`;
  }
}

input.addEventListener('input', update);
update();
