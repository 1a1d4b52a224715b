import { h, replace } from '../dom.js';
import { field, showAlert } from '../forms.js';
import { formatJson } from '../format.js';
import { JsonEditor } from '../json_editor.js';
import { fieldErrors } from '../json_locate.js';
import { href, pathTo, rememberedNamespaces, rememberNamespaces } from '../route.js';

const EXAMPLE = `{
  "_name": "my_workflow",
  "_timeoutSeconds": 3600,
  "_tasks": [
    {
      "_name": "call",
      "_type": "REST_CONNECTOR",
      "_inputParams": { "_url": "\${workflow._inputParams._url}" }
    }
  ]
}`;
// What the service adds to a definition: left out when one is copied into a new one.
const STORED_FIELDS = ['_id', '_namespaces', '_createdAt', '_createdBy', '_updatedAt', '_updatedBy'];

export function newDefinitionView({ main, api, route, setTitle }) {
  setTitle('New definition');
  const nsfilter = route.params.get('nsfilter') ?? rememberedNamespaces();
  const copyOf = route.params.get('from');
  const controller = new AbortController();
  const namespaces = field({
    name: 'nsfilter',
    label: 'Namespaces',
    value: nsfilter,
    required: true,
    hint: 'The definition belongs to these: runs of it start in one of them.',
  });
  const editor = new JsonEditor({
    label: 'Definition (JSON)',
    hint: '_name and _tasks, and optionally _userType, _description, _timeoutSeconds, _timeoutPolicy, _outputParams.',
    value: EXAMPLE,
    rows: 18,
  });
  const alertBox = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create definition');
  const form = h('form', { class: 'new-definition', 'aria-labelledby': 'new-heading' }, namespaces.element, editor.element, alertBox, h('div', { class: 'actions' }, submit));
  replace(
    main,
    h('p', { class: 'breadcrumbs' }, h('a', { href: href('/definitions', { nsfilter }) }, 'Definitions'), ' › New'),
    h('h1', { id: 'new-heading', tabindex: '-1' }, 'New definition'),
    form,
  );

  if (copyOf && nsfilter) {
    api
      .get(pathTo('workflowdefs', copyOf), { params: { nsfilter }, signal: controller.signal })
      .then((definition) => {
        for (const name of STORED_FIELDS) delete definition[name];
        editor.textarea.value = formatJson(definition);
      })
      .catch((error) => {
        if (error.name !== 'AbortError') showAlert(alertBox, `Could not copy definition ${copyOf}: ${error.message}`);
      });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showAlert(alertBox, null);
    namespaces.setError(null);
    const parsed = editor.parse();
    if (!parsed) {
      editor.textarea.focus();
      return;
    }
    const definitionNamespaces = namespaces.control.value.trim();
    submit.disabled = true;
    try {
      const created = await api.post('/workflowdefs', {
        params: { nsfilter: definitionNamespaces },
        body: editor.text,
        signal: controller.signal,
      });
      rememberNamespaces(definitionNamespaces);
      location.hash = href(pathTo('definitions', created._id), { nsfilter: definitionNamespaces }).slice(1);
    } catch (error) {
      if (error.name === 'AbortError') return;
      submit.disabled = false;
      const parts = fieldErrors(error.message);
      const forNamespaces = parts.filter((part) => part.path === 'nsfilter');
      const forBody = parts.filter((part) => !forNamespaces.includes(part));
      if (forNamespaces.length) namespaces.setError(forNamespaces.map((part) => part.text).join('; '));
      if (forBody.length) editor.showApiErrors(forBody);
      if (!forBody.length && !forNamespaces.length) showAlert(alertBox, error.message);
    }
  });
  return () => controller.abort();
}
