// Colours for what the page draws itself (Chart.js charts, sparklines) from the same CSS
// custom properties as the rest of the page (style.css), so light and dark follow
// prefers-color-scheme everywhere. Chart colours are 6-digit hex: translucent fills add an
// alpha byte to them.

const PROPERTIES = {
  text: '--muted', // axis labels, legends
  title: '--text',
  grid: '--grid',
  in: '--chart-in',
  out: '--chart-out',
  panel: '--panel-2',
};

/** The current colours, read from the root element's custom properties. */
export function theme() {
  const style = getComputedStyle(document.documentElement);
  const colours = {};
  for (const [key, property] of Object.entries(PROPERTIES)) colours[key] = style.getPropertyValue(property).trim();
  // One hue per interface in the stacked total chart.
  colours.series = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => style.getPropertyValue(`--series-${n}`).trim());
  return colours;
}

/** A hex colour with an alpha byte ('#4fc3f7' + 0x30); anything else as it is. */
export function withAlpha(hex, alpha) {
  if (!/^#[0-9a-f]{6}$/i.test(hex)) return hex;
  return `${hex}${Math.round(Math.min(Math.max(alpha, 0), 1) * 255).toString(16).padStart(2, '0')}`;
}

const listeners = new Set();

/** Calls `callback(theme())` whenever the colour scheme changes. */
export function onThemeChange(callback) {
  listeners.add(callback);
}

/** Chart.js defaults from the theme; listeners hear of every later change. */
export function startTheme() {
  const apply = () => {
    const t = theme();
    if (typeof Chart !== 'undefined') {
      Chart.defaults.color = t.text;
      Chart.defaults.borderColor = t.grid;
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    }
    for (const callback of listeners) callback(t);
  };
  apply();
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', apply);
}
