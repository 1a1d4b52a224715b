import { h } from './dom.js';
import { formatTime, parseTime } from './format.js';

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'TIMED_OUT', 'TERMINATED'];

/** A run in one of these still changes on its own: pages showing it refresh themselves. */
export const MOVING_STATUSES = new Set(['QUEUED', 'RUNNING']);

/** The API's status changes (PUT /workflows/{id}/status) and the run statuses each is allowed from. */
export const STATUS_CHANGES = [
  { status: 'PAUSED', label: 'Pause', from: ['QUEUED', 'RUNNING'] },
  { status: 'RESUMED', label: 'Resume', from: ['PAUSED'] },
  { status: 'RETRIED', label: 'Retry', from: ['FAILED', 'TIMED_OUT', 'TERMINATED'] },
  { status: 'TERMINATED', label: 'Terminate', from: ['QUEUED', 'RUNNING', 'PAUSED'], confirm: true },
];

/** A status is shown by its word; the colour and the mark beside it only repeat it. */
export function statusBadge(status) {
  const known = /^[A-Z_]+$/.test(status ?? '') ? status : 'UNKNOWN';
  return h('span', { class: `status status-${known.toLowerCase()}` }, status ?? 'unknown');
}

export function timeElement(text) {
  if (!text) return h('span', { class: 'muted' }, '—');
  const date = parseTime(text);
  return h('time', { datetime: date ? date.toISOString() : undefined, title: text }, formatTime(text));
}
