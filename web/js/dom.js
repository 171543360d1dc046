// @ts-check
/// <reference lib="dom" />
/**
 * DOM helpers: elements by id, element building, toasts and screen-reader announcements.
 *
 * @module
 */

/**
 * The element with this id; the page is static, so a missing one is a bug.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Missing element: #${id}`);
  return element;
}

/**
 * Creates an element with attributes and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean>} [attributes]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false) continue;
    element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children);
  return element;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let toastTimer;

/**
 * Shows a short message at the bottom of the screen (and to screen readers).
 * @param {string} message
 * @param {{ error?: boolean }} [options]
 */
export function toast(message, options = {}) {
  const element = $("toast");
  element.textContent = message;
  element.classList.toggle("error", options.error ?? false);
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => element.hidden = true, options.error ? 8000 : 4000);
}

/** @param {string} message said once by screen readers */
export function announce(message) {
  $("announcer").textContent = message;
}
