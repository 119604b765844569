// The integration's customisation (its `portal` block in the configuration): the accent colour,
// with a text colour chosen to stay readable on it, and the overview.

import { view } from './dom.js';
import { state } from './state.js';

/** The accent colour (a CSS custom property, with a text colour that stays readable on it) and the overview. */
export function customise(portal) {
  if (!portal) return;
  const color = portal.accentColor;
  if (typeof color === 'string' && /^#[0-9a-f]{6}$/i.test(color)) {
    const root = document.documentElement.style;
    root.setProperty('--accent', color);
    const light = contrast(color, '#ffffff') >= contrast(color, '#1b1f24');
    root.setProperty('--accent-text', light ? '#ffffff' : '#1b1f24');
    root.setProperty('--accent-soft', tint(color, 0.1));
  }
  if (typeof portal.overviewHtml === 'string' && portal.overviewHtml.trim()) {
    // Rendered from Markdown and sanitised by the server: no raw HTML, only http(s) and mailto URLs.
    view.overviewBody.innerHTML = portal.overviewHtml;
    for (const link of view.overviewBody.querySelectorAll('a[href]')) {
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
    }
    view.overviewHeading.textContent = `About ${state.meta.name}`;
    view.overview.hidden = false;
  }
}

function channels(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

function luminance(hex) {
  const [r, g, b] = channels(hex).map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** `hex` at `share` of its strength over white. */
function tint(hex, share) {
  const mixed = channels(hex).map((c) => Math.round(255 - (255 - c) * share));
  return `#${mixed.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
