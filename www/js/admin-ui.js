// admin-ui.js — small helpers for the moderation page: building elements safely (text is
// always set as text, never parsed as HTML), clock times, and the reconnect backoff.

/**
 * h('div', {className: 'x', dataset: {id: 1}, disabled: true}, 'text', child…): an element.
 * Properties are assigned (so `textContent`-like safety holds for every string child);
 * `dataset` is merged, `style` is a CSS text, and names with a dash (aria-*) are attributes.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style') el.style.cssText = value;
    else if (name.includes('-')) el.setAttribute(name, value);
    else el[name] = value;
  }
  for (const child of children) el.append(child); // strings become text nodes
  return el;
}

/** "14:03:07" for a Unix time in ms ("--:--:--" for anything else). */
export function clock(ms) {
  if (!Number.isFinite(ms)) return '--:--:--';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Reconnect delays: about 1 s, doubling up to 5 s, each ±20 % (as the other pages). */
export class Backoff {
  constructor(first = 1000, max = 5000) {
    this.first = first;
    this.max = max;
    this.failures = 0;
  }

  next() {
    const base = Math.min(this.max, this.first * 2 ** this.failures++);
    return Math.min(this.max, base * (0.8 + 0.4 * Math.random()));
  }

  reset() {
    this.failures = 0;
  }
}
