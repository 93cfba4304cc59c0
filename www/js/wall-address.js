// wall-address.js — the wall's corner that tells the audience where to post: the room's
// post address `BASE/post?room=NAME` as a QR code with the address beside it (#qr), or,
// with ?qr=0, a small "Post at …" label (#post-url). BASE is the server's --public-url
// (GET /settings.json) without trailing slashes, or else this page's origin. The QR
// picture comes from the server: GET /qr.svg?text=<the address, percent-encoded>.

import { baseUrl, loadSettings, postUrl } from '/js/settings.js';

const qrBox = document.getElementById('qr');
const label = document.getElementById('post-url');

/** Show `BASE/post?room=NAME` in the label and the QR caption; with `qr`, as a QR code too. */
function show(room, base, qr) {
  const link = postUrl(base, room);
  document.getElementById('post-link').textContent = link;
  document.getElementById('qr-url').textContent = link;
  const img = document.getElementById('qr-img');
  const src = '/qr.svg?text=' + encodeURIComponent(link);
  if (qr && !qrBox.hidden && img.getAttribute('src') !== src) img.src = src;
  img.alt = `QR code: ${link}`;
}

/**
 * Set the corner up for `room`. showQr: the QR corner (else the label, unless hideLabel).
 * onResize(): called when the QR corner changes height (the lanes end above it).
 */
export function setUpPostAddress(room, { showQr, hideLabel, valid, onResize }) {
  qrBox.hidden = !showQr || !valid;
  // The label says the same as the QR caption: shown only when the QR corner is not.
  label.hidden = hideLabel || !qrBox.hidden || !valid;
  // The page's own origin at once; the server's --public-url replaces it if it has one.
  // (The QR picture is fetched once, for the final address.)
  show(room, baseUrl(null), false);
  if (valid) loadSettings().then((settings) => show(room, baseUrl(settings.public_url), true));

  // Its caption wraps differently once the public URL is known, and fonts may load late.
  let height = qrBox.getBoundingClientRect().height;
  new ResizeObserver(() => {
    const h = qrBox.getBoundingClientRect().height;
    if (h !== height) { height = h; onResize(); }
  }).observe(qrBox);
}

/** Pixels at the bottom of a window `H` px tall taken by the QR corner, with a margin; 0 when hidden. */
export function qrReserve(H) {
  if (qrBox.hidden) return 0;
  return Math.max(0, H - qrBox.getBoundingClientRect().top + 8);
}
