// index.js — keeps the room links under the form in step with the room name typed.
// (The form itself works without this: its buttons submit ?room=NAME to /post or /wall.)
// When the server has a --public-url (GET /settings.json), the post page's link is shown
// as that full address, the one to hand out to phones.

import { ROOM_PATTERN } from '/js/connection.js';
import { baseUrl, loadSettings, postUrl } from '/js/settings.js';

const input = document.getElementById('room');
const hint = document.getElementById('room-hint');
const links = { post: document.getElementById('room-post'), wall: document.getElementById('room-wall') };
let publicBase = null; // e.g. "https://wall.example.org", once known

function update() {
  const room = input.value.trim();
  const ok = ROOM_PATTERN.test(room);
  hint.classList.toggle('bad', !ok);
  for (const [page, a] of Object.entries(links)) {
    const href = page === 'post' && publicBase ? postUrl(publicBase, room) : `/${page}?room=${encodeURIComponent(room)}`;
    a.href = ok ? href : '#room';
    a.textContent = ok ? href : `/${page}?room=… (invalid room name)`;
  }
}

input.addEventListener('input', update);
update();
loadSettings().then((settings) => {
  if (settings.public_url === null) return;
  publicBase = baseUrl(settings.public_url);
  update();
});
