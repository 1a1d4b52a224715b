import { h, pre, replace } from '../dom.js';
import { field, showAlert } from '../forms.js';
import { formatJson } from '../format.js';
import { JsonEditor } from '../json_editor.js';
import { fieldErrors } from '../json_locate.js';
import { href, pathTo, rememberedNamespaces, rememberNamespaces } from '../route.js';
import { timeElement } from '../status.js';

/** The nested tasks of a definition's task, whatever container holds them, with a label for each group. */
function nestedTaskGroups(task) {
  const groups = [];
  if (Array.isArray(task._tasks)) groups.push(['Each item', task._tasks]);
  if (task._cases && typeof task._cases === 'object') {
    for (const [key, tasks] of Object.entries(task._cases)) groups.push([`Case “${key}”`, tasks]);
  }
  if (Array.isArray(task._defaultCase)) groups.push(['Default case', task._defaultCase]);
  if (Array.isArray(task._branches)) task._branches.forEach((tasks, index) => groups.push([`Branch ${index}`, tasks]));
  return groups;
}

function outline(tasks) {
  return h(
    'ol',
    { class: 'outline' },
    (Array.isArray(tasks) ? tasks : []).map((task) =>
      h(
        'li',
        null,
        h('span', { class: 'task-name' }, task?._name ?? '(no name)'),
        ' ',
        h('span', { class: 'task-type' }, task?._type ?? ''),
        nestedTaskGroups(task ?? {}).map(([label, nested]) =>
          h('div', { class: 'outline-group' }, h('p', { class: 'group-title' }, label), outline(nested)),
        ),
      ),
    ),
  );
}

export function definitionView({ main, api, route, setTitle }) {
  const definitionId = route.segments[1];
  const nsfilter = route.params.get('nsfilter') ?? rememberedNamespaces();
  const controller = new AbortController();
  setTitle(`Definition ${definitionId.slice(0, 8)}`);
  const heading = h('h1', { tabindex: '-1' }, 'Definition');
  const body = h('div');
  replace(
    main,
    h(
      'p',
      { class: 'breadcrumbs' },
      h('a', { href: href('/definitions', { nsfilter }) }, 'Definitions'),
      ' › ',
      h('span', { class: 'id' }, definitionId),
    ),
    heading,
    body,
  );
  if (!nsfilter) {
    replace(body, h('p', { class: 'alert' }, 'This address names no namespace: add ?nsfilter=<namespace> to it.'));
    return undefined;
  }

  function startForm(definition) {
    const namespaces = field({
      name: 'nsfilter',
      label: 'Namespaces of the run',
      value: nsfilter,
      required: true,
      hint: 'The run belongs to these; one of them must be the definition’s.',
    });
    const input = new JsonEditor({
      label: 'Input (_inputParams)',
      hint: 'A JSON object: what the tasks read as ${workflow._inputParams...}, and the input of a task that declares none.',
      value: '{\n  \n}',
      rows: 8,
    });
    const alertBox = h('div', { role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Start run');
    const form = h(
      'form',
      { class: 'start-run', 'aria-labelledby': 'start-heading' },
      h('h2', { id: 'start-heading' }, 'Start a run'),
      namespaces.element,
      input.element,
      alertBox,
      h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      showAlert(alertBox, null);
      namespaces.setError(null);
      const parsed = input.parse();
      if (!parsed) return;
      if (!parsed.value || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
        input.show([{ path: null, text: 'The input is a JSON object: { ... }.' }]);
        return;
      }
      const runNamespaces = namespaces.control.value.trim();
      submit.disabled = true;
      try {
        const body = `{"_workflowDefId": ${JSON.stringify(definition._id)}, "_inputParams": ${input.text}}`;
        const run = await api.post('/workflows', { params: { nsfilter: runNamespaces }, body, signal: controller.signal });
        rememberNamespaces(runNamespaces);
        location.hash = href(pathTo('runs', run._id), { nsfilter: runNamespaces }).slice(1);
      } catch (error) {
        if (error.name === 'AbortError') return;
        submit.disabled = false;
        const parts = fieldErrors(error.message);
        const inInput = parts.filter((part) => part.path?.startsWith('_inputParams'));
        const forNamespaces = parts.filter((part) => part.path === 'nsfilter');
        const rest = parts.filter((part) => !inInput.includes(part) && !forNamespaces.includes(part));
        if (inInput.length) input.showApiErrors(inInput, ['_inputParams']);
        if (forNamespaces.length) namespaces.setError(forNamespaces.map((part) => part.text).join('; '));
        if (rest.length) showAlert(alertBox, rest.map((part) => (part.path ? `${part.path}: ${part.text}` : part.text)).join('; '));
      }
    });
    return form;
  }

  function draw(definition) {
    setTitle(definition._name);
    replace(heading, definition._name);
    const timeout = definition._timeoutSeconds ? `${definition._timeoutSeconds} s, ${definition._timeoutPolicy ?? 'TIME_OUT_WF'}` : 'none';
    replace(
      body,
      h(
        'dl',
        { class: 'facts' },
        h('div', null, h('dt', null, 'Id'), h('dd', null, h('code', { class: 'id' }, definition._id))),
        h('div', null, h('dt', null, 'Namespaces'), h('dd', null, (definition._namespaces ?? []).join(', '))),
        definition._userType ? h('div', null, h('dt', null, 'User type'), h('dd', null, definition._userType)) : null,
        h('div', null, h('dt', null, 'Timeout'), h('dd', null, timeout)),
        h('div', null, h('dt', null, 'Created'), h('dd', null, timeElement(definition._createdAt), definition._createdBy ? ` by ${definition._createdBy}` : '')),
        definition._description ? h('div', null, h('dt', null, 'Description'), h('dd', null, definition._description)) : null,
      ),
      h(
        'p',
        { class: 'actions' },
        h('a', { class: 'button', href: href('/runs', { nsfilter, _defId: definition._id }) }, 'Runs of this definition'),
        h('a', { class: 'button', href: href('/definitions/new', { nsfilter, from: definition._id }) }, 'Copy into a new definition'),
      ),
      startForm(definition),
      h('section', { 'aria-labelledby': 'outline-heading' }, h('h2', { id: 'outline-heading' }, 'Tasks'), outline(definition._tasks)),
      h('section', { 'aria-labelledby': 'json-heading' }, h('h2', { id: 'json-heading' }, 'As JSON'), pre(formatJson(definition), 'The definition as JSON')),
    );
  }

  api
    .get(pathTo('workflowdefs', definitionId), { params: { nsfilter }, signal: controller.signal })
    .then((definition) => {
      rememberNamespaces(nsfilter);
      draw(definition);
    })
    .catch((error) => {
      if (error.name === 'AbortError') return;
      replace(heading, error.status === 404 ? 'Definition not found' : 'Definition');
      replace(body, h('p', { class: 'alert' }, error.message));
    });
  return () => controller.abort();
}
