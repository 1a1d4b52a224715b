import { h, redrawKeepingFocus, replace, uniqueId } from '../dom.js';
import { field, selectField, showAlert, showApiError } from '../forms.js';
import { formatTime } from '../format.js';
import { createRefresher } from '../refresher.js';
import { href, pathTo, rememberedNamespaces, rememberNamespaces } from '../route.js';
import { MOVING_STATUSES, RUN_STATUSES, statusBadge, timeElement } from '../status.js';

const REFRESH_MS = 2000;
const SORTABLE = [
  ['_createdAt', 'Created'],
  ['_updatedAt', 'Updated'],
  ['_name', 'Name'],
  ['_status', 'Status'],
  ['_workflowDefId', 'Definition'],
];
// The list call's query parameters, which are also this view's URL parameters.
const FILTERS = ['nsfilter', '_name', '_defId', '_status', 'startDate', 'endDate', 'sort', '_pageSize'];

// The token of the page before each page seen, per query: "Previous" follows it back, whichever way
// (links, the browser's back and forward buttons) the user moved between pages.
const previousTokens = new Map();

/** `{"_name": 1, "_createdAt": -1}` as [['_name', 1], ['_createdAt', -1]]; null when it is not that. */
export function parseSort(text) {
  if (!text) return [['_createdAt', -1]];
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return Object.entries(value);
  } catch {
    // shown as written; the API says what is wrong with it
  }
  return null;
}

function sortText(keys) {
  return JSON.stringify(Object.fromEntries(keys));
}

function statusField(selected) {
  const legendId = uniqueId('status-legend');
  const error = h('p', { class: 'field-error', id: `${legendId}-error` });
  const boxes = RUN_STATUSES.map((status) =>
    h(
      'label',
      { class: 'check' },
      h('input', { type: 'checkbox', name: '_status', value: status, checked: selected.includes(status) }),
      statusBadge(status),
    ),
  );
  const fieldset = h(
    'fieldset',
    { class: 'field statuses', 'aria-describedby': `${legendId}-hint ${legendId}-error` },
    h('legend', { id: legendId }, 'Status'),
    h('div', { class: 'checks' }, boxes),
    h('p', { class: 'hint', id: `${legendId}-hint` }, 'None ticked: every status.'),
    error,
  );
  return {
    element: fieldset,
    control: fieldset.querySelector('input'),
    values: () => [...fieldset.querySelectorAll('input:checked')].map((box) => box.value),
    setError(text) {
      replace(error, text ?? '');
      if (text) fieldset.setAttribute('aria-invalid', 'true');
      else fieldset.removeAttribute('aria-invalid');
    },
  };
}

export function runsView({ main, api, route, setTitle }) {
  setTitle('Runs');
  const params = route.params;
  const nsfilter = params.get('nsfilter') ?? rememberedNamespaces();
  const token = params.get('_nextToken') ?? '';
  const sortKeys = parseSort(params.get('sort'));
  const query = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? '']));
  query.nsfilter = nsfilter;
  const queryKey = JSON.stringify(query);
  if (!previousTokens.has(queryKey)) previousTokens.set(queryKey, new Map());
  const previousOf = previousTokens.get(queryKey);

  // ------------------------------------------------------------------ the filters
  const fields = {
    nsfilter: field({
      name: 'nsfilter',
      label: 'Namespaces',
      value: nsfilter,
      required: true,
      hint: 'One, or several separated by commas.',
    }),
    _name: field({ name: '_name', label: 'Name contains', value: params.get('_name') ?? '' }),
    _defId: field({ name: '_defId', label: 'Definition id contains', value: params.get('_defId') ?? '' }),
    startDate: field({
      name: 'startDate',
      label: 'Created from',
      value: params.get('startDate') ?? '',
      placeholder: 'YYYY-MM-DD',
      hint: 'A date, or a time such as 2026-02-01T09:30:00Z.',
    }),
    endDate: field({
      name: 'endDate',
      label: 'Created until',
      value: params.get('endDate') ?? '',
      placeholder: 'YYYY-MM-DD',
      hint: 'Inclusive: a date includes that whole day.',
    }),
    _status: statusField((params.get('_status') ?? '').split(',').filter(Boolean)),
  };
  const [first = ['_createdAt', -1], second] = sortKeys ?? [];
  const orderOptions = [
    ['-1', 'Descending'],
    ['1', 'Ascending'],
  ];
  const sortBy = selectField({ name: 'sortBy', label: 'Sort by', value: first[0], options: SORTABLE });
  const sortOrder = selectField({ name: 'sortOrder', label: 'Order', value: String(first[1]), options: orderOptions });
  const thenBy = selectField({
    name: 'thenBy',
    label: 'Then by',
    value: second?.[0] ?? '',
    options: [['', '—'], ...SORTABLE],
  });
  const thenOrder = selectField({
    name: 'thenOrder',
    label: 'Then order',
    value: String(second?.[1] ?? 1),
    options: orderOptions,
  });
  // `sort` errors belong to the sort controls.
  fields.sort = sortBy;
  const pageSize = field({
    name: '_pageSize',
    label: 'Runs per page',
    type: 'number',
    value: params.get('_pageSize') ?? '10',
    hint: '1 to 100.',
  });
  pageSize.control.min = '1';
  pageSize.control.max = '100';
  fields._pageSize = pageSize;

  const filterParams = () => {
    const keys = [[sortBy.control.value, Number(sortOrder.control.value)]];
    if (thenBy.control.value && thenBy.control.value !== sortBy.control.value) {
      keys.push([thenBy.control.value, Number(thenOrder.control.value)]);
    }
    const sort = sortText(keys) === sortText([['_createdAt', -1]]) ? '' : sortText(keys);
    return {
      nsfilter: fields.nsfilter.control.value.trim(),
      _name: fields._name.control.value.trim(),
      _defId: fields._defId.control.value.trim(),
      _status: fields._status.values().join(','),
      startDate: fields.startDate.control.value.trim(),
      endDate: fields.endDate.control.value.trim(),
      sort,
      _pageSize: pageSize.control.value.trim() === '10' ? '' : pageSize.control.value.trim(),
    };
  };

  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter runs',
      onsubmit: (event) => {
        event.preventDefault();
        const target = href('/runs', filterParams());
        // The same filters again: the address does not change, so ask again here.
        if (target === location.hash) refresher.now();
        else location.hash = target.slice(1);
      },
    },
    h(
      'div',
      { class: 'filter-grid' },
      fields.nsfilter.element,
      fields._name.element,
      fields._defId.element,
      fields.startDate.element,
      fields.endDate.element,
    ),
    fields._status.element,
    h('div', { class: 'filter-grid sort-grid' }, sortBy.element, sortOrder.element, thenBy.element, thenOrder.element, pageSize.element),
    sortKeys && sortKeys.length > 2
      ? h('p', { class: 'hint' }, `This view sorts by ${sortKeys.map(([name, way]) => `${name} ${way < 0 ? 'descending' : 'ascending'}`).join(', then ')}.`)
      : null,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Show runs'),
      h('a', { href: href('/runs', { nsfilter }), class: 'button' }, 'Clear filters'),
    ),
  );

  // ------------------------------------------------------------------ the list
  const alertBox = h('div', { role: 'alert' });
  const summary = h('p', { class: 'summary', id: 'runs-summary', 'aria-live': 'polite' });
  const refreshState = h('span', { class: 'refresh-state muted' });
  const shownAt = h('span', { class: 'muted' });
  const refreshButton = h('button', { type: 'button', class: 'small', onclick: () => refresher.now() }, 'Refresh');
  const results = h('div', { class: 'results' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of runs' });

  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Runs'),
    form,
    alertBox,
    h('div', { class: 'list-head' }, summary, h('div', { class: 'refresh' }, shownAt, refreshState, refreshButton)),
    results,
    pager,
  );

  const controller = new AbortController();
  const refresher = createRefresher(load, REFRESH_MS, (state) => {
    replace(
      refreshState,
      {
        polling: `Refreshing every ${REFRESH_MS / 1000} s while runs are moving.`,
        paused: 'Refreshing paused while this tab is hidden.',
        idle: '',
      }[state],
    );
  });

  if (!nsfilter) {
    replace(summary, 'Name a namespace to list its runs.');
    refreshButton.hidden = true;
    return () => refresher.stop();
  }
  rememberNamespaces(nsfilter);

  function sortHeader(name, label) {
    const [primary, way] = sortKeys?.[0] ?? [];
    const sorted = primary === name;
    const next = sorted ? -way : name === '_createdAt' || name === '_updatedAt' ? -1 : 1;
    const target = href('/runs', { ...query, sort: sortText([[name, next]]) });
    return h(
      'th',
      { scope: 'col', 'aria-sort': sorted ? (way < 0 ? 'descending' : 'ascending') : undefined },
      h(
        'a',
        { href: target, class: 'sort-link', dataset: { focusKey: `sort-${name}` } },
        label,
        h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, sorted ? (way < 0 ? ' ↓' : ' ↑') : ''),
        h('span', { class: 'visually-hidden' }, sorted ? `, sorted ${way < 0 ? 'descending' : 'ascending'}; sort ${next < 0 ? 'descending' : 'ascending'}` : ', sort'),
      ),
    );
  }

  function row(run) {
    const runLink = href(pathTo('runs', run._id), { nsfilter });
    return h(
      'tr',
      null,
      h('td', { dataset: { label: 'Name' } }, h('a', { href: runLink, dataset: { focusKey: `run-${run._id}` } }, run._name)),
      h('td', { dataset: { label: 'Status' } }, statusBadge(run._status)),
      h('td', { dataset: { label: 'Created' } }, timeElement(run._createdAt)),
      h('td', { dataset: { label: 'Updated' } }, timeElement(run._updatedAt)),
      h(
        'td',
        { dataset: { label: 'Definition' } },
        h(
          'a',
          { href: href(pathTo('definitions', run._workflowDefId), { nsfilter }), title: run._workflowDefId, class: 'id' },
          run._workflowDefId.slice(0, 8),
        ),
      ),
      h('td', { dataset: { label: 'Namespaces' } }, (run._namespaces ?? []).join(', ')),
      h('td', { dataset: { label: 'Id' } }, h('code', { class: 'id', title: run._id }, run._id.slice(0, 8))),
    );
  }

  function draw(page) {
    const runs = page._list ?? [];
    const from = page._offset + 1;
    const to = page._offset + runs.length;
    const said = runs.length
      ? `Runs ${from}–${to} of ${page._total}`
      : page._total
        ? `No runs on this page (of ${page._total}).`
        : 'No runs match these filters.';
    // A live region speaks when its text changes: a refresh that changes nothing says nothing.
    if (summary.textContent !== said) replace(summary, said);
    replace(shownAt, `Shown at ${formatTime(new Date().toISOString())}.`);
    redrawKeepingFocus(results, () => {
      if (!runs.length) {
        results.replaceChildren();
        return;
      }
      replace(
        results,
        h(
          'table',
          { class: 'runs' },
          h('caption', { class: 'visually-hidden' }, 'Runs'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              sortHeader('_name', 'Name'),
              sortHeader('_status', 'Status'),
              sortHeader('_createdAt', 'Created'),
              sortHeader('_updatedAt', 'Updated'),
              sortHeader('_workflowDefId', 'Definition'),
              h('th', { scope: 'col' }, 'Namespaces'),
              h('th', { scope: 'col' }, 'Id'),
            ),
          ),
          h('tbody', null, runs.map(row)),
        ),
      );
    });
    const here = query;
    const links = [];
    if (token) {
      links.push(h('a', { href: href('/runs', here), class: 'button' }, 'First page'));
      if (previousOf.has(token) && previousOf.get(token)) {
        links.push(h('a', { href: href('/runs', { ...here, _nextToken: previousOf.get(token) }), class: 'button' }, 'Previous page'));
      }
    }
    if (page._nextToken) {
      previousOf.set(page._nextToken, token);
      links.push(h('a', { href: href('/runs', { ...here, _nextToken: page._nextToken }), class: 'button', rel: 'next' }, 'Next page'));
    }
    redrawKeepingFocus(pager, () => replace(pager, links));
  }

  async function load() {
    try {
      const page = await api.get('/workflows', {
        params: { ...query, sort: params.get('sort') ?? '', _nextToken: token },
        signal: controller.signal,
      });
      showAlert(alertBox, null);
      draw(page);
      return (page._list ?? []).some((run) => MOVING_STATUSES.has(run._status));
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      showApiError(error, fields, alertBox);
      replace(summary, '');
      results.replaceChildren();
      pager.replaceChildren();
      return false;
    }
  }

  refresher.now();
  return () => {
    refresher.stop();
    controller.abort();
  };
}
