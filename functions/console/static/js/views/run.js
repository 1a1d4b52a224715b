import { h, pre, redrawKeepingFocus, replace } from '../dom.js';
import { showAlert } from '../forms.js';
import { formatJson } from '../format.js';
import { createRefresher } from '../refresher.js';
import { href, pathTo, rememberedNamespaces, rememberNamespaces } from '../route.js';
import { MOVING_STATUSES, STATUS_CHANGES, statusBadge, timeElement } from '../status.js';
import { buildTaskTree, taskList } from '../tasks.js';

const REFRESH_MS = 1500;

/** Still changing on its own: the run moves, or a task in flight (also in a paused run) has not ended. */
function moving(run) {
  return MOVING_STATUSES.has(run._status) || (run._tasks ?? []).some((task) => task._status === 'RUNNING');
}

function fact(term, ...value) {
  return h('div', null, h('dt', null, term), h('dd', null, ...value));
}

export function runView({ main, api, route, setTitle }) {
  const runId = route.segments[1];
  const nsfilter = route.params.get('nsfilter') ?? rememberedNamespaces();
  const withLoops = route.params.get('_includeLoopOverTasks') === 'true';
  const openKeys = new Set();
  const controller = new AbortController();
  let current = null;
  let busy = false;

  setTitle(`Run ${runId.slice(0, 8)}`);
  const heading = h('h1', { tabindex: '-1' }, 'Run');
  const statusLine = h('p', { class: 'run-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Change the run’s status' });
  const actionAlert = h('div', { role: 'alert' });
  const refreshState = h('span', { class: 'refresh-state muted' });
  const body = h('div', { class: 'run-body' });
  replace(
    main,
    h('p', { class: 'breadcrumbs' }, h('a', { href: href('/runs', { nsfilter }) }, 'Runs'), ' › ', h('span', { class: 'id' }, runId)),
    heading,
    statusLine,
    actions,
    actionAlert,
    h('p', { class: 'refresh' }, refreshState),
    body,
  );

  const refresher = createRefresher(load, REFRESH_MS, (state) => {
    replace(
      refreshState,
      {
        polling: `Refreshing every ${REFRESH_MS / 1000} s while the run moves.`,
        paused: 'Refreshing paused while this tab is hidden.',
        idle: '',
      }[state],
    );
  });

  if (!nsfilter) {
    replace(body, h('p', { class: 'alert' }, 'This address names no namespace: add ?nsfilter=<namespace> to it.'));
    return () => refresher.stop();
  }

  async function change(spec) {
    if (spec.confirm && !window.confirm(`${spec.label} the run “${current?._name ?? runId}”?`)) return;
    busy = true;
    drawActions();
    try {
      const run = await api.put(pathTo('workflows', runId) + '/status', {
        params: { nsfilter },
        body: { _status: spec.status },
        signal: controller.signal,
      });
      showAlert(actionAlert, null);
      busy = false;
      draw(run);
      refresher.want(moving(run));
    } catch (error) {
      if (error.name === 'AbortError') return;
      busy = false;
      showAlert(actionAlert, `${spec.label} refused: ${error.message}`);
      refresher.now(); // show what the run is now
    }
  }

  function drawActions() {
    redrawKeepingFocus(actions, () =>
      replace(
        actions,
        STATUS_CHANGES.map((spec) =>
          h(
            'button',
            {
              type: 'button',
              class: spec.confirm ? 'danger' : '',
              disabled: busy || !current || !spec.from.includes(current._status),
              dataset: { focusKey: `action-${spec.status}` },
              onclick: () => change(spec),
            },
            spec.label,
          ),
        ),
      ),
    );
  }

  function draw(run) {
    current = run;
    setTitle(`${run._name} (${run._status})`);
    replace(heading, run._name);
    // A live region speaks when its text changes: only a new status is said.
    if (statusLine.dataset.status !== run._status) {
      statusLine.dataset.status = run._status;
      replace(statusLine, 'Status ', statusBadge(run._status));
    }
    drawActions();
    const hasLoops = (run._tasks ?? []).some((task) => task._type === 'LOOP_OVER');
    const loopToggle = h('input', {
      type: 'checkbox',
      id: 'show-loop-iterations',
      checked: withLoops,
      dataset: { focusKey: 'loops' },
      onchange: (event) => {
        location.hash = href(pathTo('runs', runId), {
          nsfilter,
          _includeLoopOverTasks: event.target.checked ? 'true' : '',
        }).slice(1);
      },
    });
    const timeout = run._timeoutSeconds
      ? `${run._timeoutSeconds} s, ${run._timeoutPolicy ?? 'TIME_OUT_WF'}`
      : 'none';
    redrawKeepingFocus(body, () =>
      replace(
        body,
        run._error ? h('p', { class: 'run-error' }, h('strong', null, 'Error: '), run._error) : null,
        h(
          'dl',
          { class: 'facts' },
          fact('Id', h('code', { class: 'id' }, run._id)),
          fact(
            'Definition',
            h('a', { href: href(pathTo('definitions', run._workflowDefId), { nsfilter }), class: 'id' }, run._workflowDefId),
          ),
          fact('Namespaces', (run._namespaces ?? []).join(', ')),
          fact('Started by', run._createdBy ?? '—'),
          fact('Created', timeElement(run._createdAt)),
          fact('Updated', timeElement(run._updatedAt), run._updatedBy ? ` by ${run._updatedBy}` : ''),
          fact('Timeout', timeout),
          run._timeoutAlertedAt ? fact('Timeout alerted', timeElement(run._timeoutAlertedAt)) : null,
          run._userType ? fact('User type', run._userType) : null,
          run._parentWorkflowId
            ? fact('Parent run', h('a', { href: href(pathTo('runs', run._parentWorkflowId), { nsfilter }), class: 'id' }, run._parentWorkflowId))
            : null,
        ),
        h(
          'section',
          { 'aria-labelledby': 'tasks-heading' },
          h('div', { class: 'section-head' }, h('h2', { id: 'tasks-heading' }, 'Tasks'),
            hasLoops || withLoops
              ? h('div', { class: 'check' }, loopToggle, h('label', { for: 'show-loop-iterations' }, 'Show loop iterations'))
              : null,
          ),
          (run._tasks ?? []).length
            ? taskList(buildTaskTree(run._tasks), { openKeys, nsfilter })
            : h('p', { class: 'muted' }, 'No tasks.'),
        ),
        h(
          'section',
          { 'aria-labelledby': 'input-heading' },
          h('h2', { id: 'input-heading' }, 'Input'),
          pre(formatJson(run._inputParams ?? {}), 'Input of the run'),
        ),
        h(
          'section',
          { 'aria-labelledby': 'output-heading' },
          h('h2', { id: 'output-heading' }, 'Output'),
          run._output === null || run._output === undefined
            ? h('p', { class: 'muted' }, 'None yet.')
            : pre(formatJson(run._output), 'Output of the run'),
        ),
        run._variables && Object.keys(run._variables).length
          ? h('section', { 'aria-labelledby': 'variables-heading' }, h('h2', { id: 'variables-heading' }, 'Variables'), pre(formatJson(run._variables), 'Variables of the run'))
          : null,
      ),
    );
  }

  async function load() {
    try {
      const run = await api.get(pathTo('workflows', runId), {
        params: { nsfilter, _includeLoopOverTasks: withLoops ? 'true' : '' },
        signal: controller.signal,
      });
      rememberNamespaces(nsfilter);
      if (!busy) draw(run);
      return moving(run);
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      if (!current) {
        replace(heading, error.status === 404 ? 'Run not found' : 'Run');
        replace(body, h('p', { class: 'alert' }, error.message));
        return false;
      }
      showAlert(actionAlert, `Could not refresh the run: ${error.message}`);
      return true;
    }
  }

  refresher.now();
  return () => {
    refresher.stop();
    controller.abort();
  };
}
