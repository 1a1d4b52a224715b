// Timestamps come as RFC 3339 UTC with nanoseconds; Date keeps milliseconds, which is plenty to show.
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

export function parseTime(text) {
  const match = typeof text === 'string' ? TIMESTAMP.exec(text) : null;
  if (!match) return null;
  const fraction = match[2] ? match[2].slice(0, 4).padEnd(4, '0') : '';
  const date = new Date(`${match[1]}${fraction}${match[3]}`);
  return Number.isNaN(date.getTime()) ? null : date;
}

const two = (n) => String(n).padStart(2, '0');

/** Local time, to the second, in an order that reads and sorts the same everywhere. */
export function formatTime(text) {
  const date = parseTime(text);
  if (!date) return text ?? '';
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  );
}

export function formatDuration(milliseconds) {
  if (milliseconds === null || milliseconds === undefined || milliseconds < 0) return '';
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  const seconds = milliseconds / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** From start to end, or to now while it goes on. */
export function durationBetween(start, end, now = Date.now()) {
  const from = parseTime(start);
  if (!from) return null;
  const to = end ? parseTime(end) : new Date(now);
  return to ? to.getTime() - from.getTime() : null;
}

export function formatJson(value) {
  return JSON.stringify(value, null, 2) ?? 'null';
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}
