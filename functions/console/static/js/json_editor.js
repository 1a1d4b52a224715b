import { h, replace, uniqueId } from './dom.js';
import { JsonSyntaxError, lineAndColumn, locate, parseWithPositions, pathSegments } from './json_locate.js';

/** A JSON text field that shows what is wrong beside it: a syntax error where it is, and each of the
 * API's messages with the place its path names, marked in the text and one click (or key) away. */
export class JsonEditor {
  constructor({ label, hint, value = '', rows = 16 }) {
    this.id = uniqueId('json');
    const hintId = `${this.id}-hint`;
    const errorsId = `${this.id}-errors`;
    this.textarea = h('textarea', {
      id: this.id,
      rows,
      wrap: 'off',
      spellcheck: 'false',
      autocapitalize: 'off',
      autocomplete: 'off',
      'aria-describedby': `${hintId} ${errorsId}`,
      oninput: () => this.clearMarks(),
      onscroll: () => this.syncScroll(),
    });
    this.textarea.value = value;
    this.marks = h('div', { class: 'editor-marks' });
    this.backdrop = h('div', { class: 'editor-backdrop', 'aria-hidden': 'true' }, this.marks);
    this.errors = h('div', { class: 'editor-errors', id: errorsId, role: 'alert' });
    this.element = h(
      'div',
      { class: 'field json-field' },
      h('label', { for: this.id }, label),
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
      h('div', { class: 'editor' }, this.backdrop, this.textarea),
      this.errors,
    );
  }

  get text() {
    return this.textarea.value;
  }

  /** The parsed value, or null after showing where the text is not JSON. */
  parse() {
    this.clear();
    try {
      parseWithPositions(this.text);
      return { value: JSON.parse(this.text) };
    } catch (error) {
      const offset = error instanceof JsonSyntaxError ? error.offset : 0;
      const { line, column } = lineAndColumn(this.text, offset);
      this.show([{ path: null, text: `Not valid JSON: ${error.message} (line ${line}, column ${column}).`, range: { start: offset, end: offset + 1 } }]);
      return null;
    }
  }

  /** Shows API messages (`fieldErrors` parts); `prefix` is the path of this text in the request body. */
  showApiErrors(parts, prefix = []) {
    let root = null;
    try {
      root = parseWithPositions(this.text);
    } catch {
      root = null;
    }
    const shown = parts.map((part) => {
      if (!part.path || !root) return part;
      const segments = pathSegments(part.path);
      const inside = prefix.every((segment, index) => segments[index] === segment);
      if (!inside) return part;
      return { ...part, range: locate(root, segments.slice(prefix.length)) };
    });
    this.show(shown);
  }

  show(parts) {
    this.textarea.setAttribute('aria-invalid', 'true');
    const ranges = parts.map((part) => part.range).filter(Boolean);
    this.markRanges(ranges);
    const items = parts.map((part) => {
      const where = part.range ? lineAndColumn(this.text, part.range.start) : null;
      return h(
        'li',
        null,
        where
          ? h(
              'button',
              { type: 'button', class: 'link-button', onclick: () => this.select(part.range) },
              `Line ${where.line}`,
            )
          : null,
        where ? ' ' : null,
        part.path ? h('code', null, part.path) : null,
        part.path ? ': ' : null,
        part.text,
      );
    });
    replace(this.errors, h('ul', { class: 'error-list' }, items));
    if (ranges.length) this.reveal(ranges[0]);
  }

  clear() {
    this.textarea.removeAttribute('aria-invalid');
    this.errors.replaceChildren();
    this.clearMarks();
  }

  clearMarks() {
    this.marks.replaceChildren();
  }

  markRanges(ranges) {
    const text = this.text;
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    const pieces = [];
    let at = 0;
    for (const range of sorted) {
      const start = Math.max(range.start, at);
      const end = Math.max(range.end, start + 1);
      if (start > at) pieces.push(text.slice(at, start));
      pieces.push(h('mark', null, text.slice(start, end) || ' '));
      at = end;
    }
    pieces.push(`${text.slice(at)}\n`);
    replace(this.marks, pieces);
    this.syncScroll();
  }

  /** Scrolls the text so that a range is in view, without taking the focus from the message. */
  reveal(range) {
    const { line } = lineAndColumn(this.text, range.start);
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
    const top = (line - 1) * lineHeight;
    if (top < this.textarea.scrollTop || top > this.textarea.scrollTop + this.textarea.clientHeight - lineHeight * 2) {
      this.textarea.scrollTop = Math.max(0, top - lineHeight * 3);
    }
    this.syncScroll();
  }

  select(range) {
    this.textarea.focus();
    this.textarea.setSelectionRange(range.start, Math.max(range.end, range.start + 1));
    this.reveal(range);
  }

  syncScroll() {
    this.marks.style.transform = `translate(${-this.textarea.scrollLeft}px, ${-this.textarea.scrollTop}px)`;
  }
}
