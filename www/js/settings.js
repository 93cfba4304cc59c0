// settings.js — what the server tells the pages about itself, from GET /settings.json:
//   {"public_url": "https://wall.example.org"}  or  {"public_url": null}
// public_url is the server's --public-url: the address phones should use, which may differ
// from the one this page was loaded from (a projector laptop on http://127.0.0.1:3000,
// phones through a reverse proxy). Without it, the page's own origin is the base.

const SETTINGS_TIMEOUT_MS = 3000;

/** The base address for links people type or scan: no trailing slash. */
export function baseUrl(publicUrl, origin = location.origin) {
  const base = typeof publicUrl === 'string' && publicUrl.trim() !== '' ? publicUrl.trim() : origin;
  return base.replace(/\/+$/, '');
}

/** `BASE/post?room=NAME`, the address of a room's post page. */
export function postUrl(base, room) {
  return `${base}/post?room=${encodeURIComponent(room)}`;
}

/**
 * The server's settings; {public_url: null} when it has none to give (an older server
 * answers 404, a slow one is given up on after a few seconds): never throws.
 */
export async function loadSettings() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), SETTINGS_TIMEOUT_MS);
  try {
    const response = await fetch('/settings.json', { signal: abort.signal, cache: 'no-store' });
    if (!response.ok) return { public_url: null };
    const settings = await response.json();
    const publicUrl = typeof settings?.public_url === 'string' ? settings.public_url : null;
    return { public_url: publicUrl };
  } catch {
    return { public_url: null };
  } finally {
    clearTimeout(timer);
  }
}
