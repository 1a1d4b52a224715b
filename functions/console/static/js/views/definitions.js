import { h, replace } from '../dom.js';
import { field, showAlert, showApiError } from '../forms.js';
import { plural } from '../format.js';
import { href, pathTo, rememberedNamespaces, rememberNamespaces } from '../route.js';
import { timeElement } from '../status.js';

const previousTokens = new Map();

export function definitionsView({ main, api, route, setTitle }) {
  setTitle('Definitions');
  const params = route.params;
  const nsfilter = params.get('nsfilter') ?? rememberedNamespaces();
  const token = params.get('_nextToken') ?? '';
  const query = { nsfilter, _name: params.get('_name') ?? '', _pageSize: params.get('_pageSize') ?? '' };
  const queryKey = JSON.stringify(query);
  if (!previousTokens.has(queryKey)) previousTokens.set(queryKey, new Map());
  const previousOf = previousTokens.get(queryKey);

  const fields = {
    nsfilter: field({ name: 'nsfilter', label: 'Namespaces', value: nsfilter, required: true, hint: 'One, or several separated by commas.' }),
    _name: field({ name: '_name', label: 'Name contains', value: query._name }),
    _pageSize: field({ name: '_pageSize', label: 'Definitions per page', type: 'number', value: query._pageSize || '10', hint: '1 to 100.' }),
  };
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Search definitions',
      onsubmit: (event) => {
        event.preventDefault();
        const target = href('/definitions', {
          nsfilter: fields.nsfilter.control.value.trim(),
          _name: fields._name.control.value.trim(),
          _pageSize: fields._pageSize.control.value.trim() === '10' ? '' : fields._pageSize.control.value.trim(),
        });
        // The same search again: the address does not change, so ask again here.
        if (target === location.hash) load();
        else location.hash = target.slice(1);
      },
    },
    h('div', { class: 'filter-grid' }, fields.nsfilter.element, fields._name.element, fields._pageSize.element),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search')),
  );
  const alertBox = h('div', { role: 'alert' });
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  const results = h('div', { class: 'results' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of definitions' });
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, 'Definitions'),
      h('a', { href: href('/definitions/new', { nsfilter }), class: 'button primary' }, 'New definition'),
    ),
    form,
    alertBox,
    summary,
    results,
    pager,
  );
  if (!nsfilter) {
    replace(summary, 'Name a namespace to list its definitions.');
    return undefined;
  }
  rememberNamespaces(nsfilter);
  const controller = new AbortController();

  function draw(page) {
    const definitions = page._list ?? [];
    replace(
      summary,
      definitions.length
        ? `Definitions ${page._offset + 1}–${page._offset + definitions.length} of ${page._total}`
        : 'No definitions match.',
    );
    replace(
      results,
      definitions.length
        ? h(
            'table',
            { class: 'definitions' },
            h('caption', { class: 'visually-hidden' }, 'Definitions'),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Name', 'Tasks', 'Created', 'Created by', 'Namespaces', 'Id'].map((title) => h('th', { scope: 'col' }, title)),
              ),
            ),
            h(
              'tbody',
              null,
              definitions.map((definition) =>
                h(
                  'tr',
                  null,
                  h(
                    'td',
                    { dataset: { label: 'Name' } },
                    h('a', { href: href(pathTo('definitions', definition._id), { nsfilter }) }, definition._name),
                  ),
                  h('td', { dataset: { label: 'Tasks' } }, plural((definition._tasks ?? []).length, 'task')),
                  h('td', { dataset: { label: 'Created' } }, timeElement(definition._createdAt)),
                  h('td', { dataset: { label: 'Created by' } }, definition._createdBy ?? ''),
                  h('td', { dataset: { label: 'Namespaces' } }, (definition._namespaces ?? []).join(', ')),
                  h('td', { dataset: { label: 'Id' } }, h('code', { class: 'id', title: definition._id }, definition._id.slice(0, 8))),
                ),
              ),
            ),
          )
        : null,
    );
    const links = [];
    if (token) {
      links.push(h('a', { href: href('/definitions', query), class: 'button' }, 'First page'));
      if (previousOf.get(token)) {
        links.push(h('a', { href: href('/definitions', { ...query, _nextToken: previousOf.get(token) }), class: 'button' }, 'Previous page'));
      }
    }
    if (page._nextToken) {
      previousOf.set(page._nextToken, token);
      links.push(h('a', { href: href('/definitions', { ...query, _nextToken: page._nextToken }), class: 'button', rel: 'next' }, 'Next page'));
    }
    replace(pager, links);
  }

  function load() {
    api
      .get('/workflowdefs', { params: { ...query, _nextToken: token }, signal: controller.signal })
      .then((page) => {
        showAlert(alertBox, null);
        draw(page);
      })
      .catch((error) => {
        if (error.name !== 'AbortError') showApiError(error, fields, alertBox);
      });
  }

  load();
  return () => controller.abort();
}
