// The page is built from elements and text only, never from markup strings: what the API returns is
// always shown as text. (The Content-Security-Policy refuses markup built from strings anyway.)

export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  return append(element, children);
}

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let lastId = 0;
/** An id for an element that another one refers to (a label, a description). */
export function uniqueId(prefix) {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

/** Keeps keyboard focus on "the same" element when a part of the page is drawn again: elements carry
 * data-focus-key, and the new one with the old one's key takes the focus back. */
export function redrawKeepingFocus(container, draw) {
  const focused = document.activeElement;
  const key = container.contains(focused) ? focused?.dataset?.focusKey : undefined;
  draw();
  if (key !== undefined) {
    const again = [...container.querySelectorAll('[data-focus-key]')].find((el) => el.dataset.focusKey === key);
    again?.focus({ preventScroll: true });
  }
}

/** A region that scrolls sideways (JSON, long ids) is reachable and scrollable by keyboard. */
export function pre(text, label) {
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label }, text);
}
