import { h, replace, uniqueId } from './dom.js';
import { fieldErrors } from './json_locate.js';

/** A labelled input with its hint and a place for what the API says is wrong with it. */
export function field({ name, label, value = '', hint, type = 'text', required, placeholder, inputmode }) {
  const id = uniqueId(`field-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const control = h('input', {
    id,
    name,
    type,
    required,
    placeholder,
    inputmode,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
  });
  control.value = value;
  return labelled(control, { id, label, hint, hintId, errorId });
}

export function selectField({ name, label, value = '', options, hint }) {
  const id = uniqueId(`field-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const control = h(
    'select',
    { id, name, 'aria-describedby': [hintId, errorId].filter(Boolean).join(' ') },
    options.map(([optionValue, text]) => h('option', { value: optionValue }, text)),
  );
  control.value = value;
  return labelled(control, { id, label, hint, hintId, errorId });
}

function labelled(control, { id, label, hint, hintId, errorId }) {
  const error = h('p', { class: 'field-error', id: errorId });
  const element = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    error,
  );
  return {
    element,
    control,
    setError(text) {
      replace(error, text ?? '');
      if (text) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}

/** An API error shown beside the fields its message names (`startDate: ...`), the rest in `box`. */
export function showApiError(error, fields, box) {
  for (const known of Object.values(fields)) known.setError(null);
  const rest = [];
  for (const part of fieldErrors(error.message)) {
    const name = part.path?.split(/[.[]/)[0];
    const target = name ? fields[name] : undefined;
    if (target) target.setError(part.text);
    else rest.push(part.path ? `${part.path}: ${part.text}` : part.text);
  }
  const named = Object.values(fields).filter((known) => known.control.getAttribute('aria-invalid'));
  showAlert(box, rest.length ? rest.join('; ') : 'The API refused these values: see the marked fields.');
  named[0]?.control.focus();
}

export function showAlert(box, text) {
  replace(box, text ? h('p', { class: 'alert' }, text) : null);
}
