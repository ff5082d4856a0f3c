// Small DOM helpers shared by the page's modules. Text goes in as textContent only.

/** A new element with an optional class name and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The first element matching a CSS selector, or null. */
export const $ = (selector) => document.querySelector(selector);
