import { h, pre, uniqueId } from './dom.js';
import { durationBetween, formatDuration, formatJson } from './format.js';
import { href, pathTo } from './route.js';
import { statusBadge, timeElement } from './status.js';

/** The run's `_tasks` as a tree. A task with `_parentTaskId` goes under that task, grouped by its
 * `_branch` (a SWITCH case, a FORK_JOIN branch, any container to come); a loop iteration's task
 * (`_loopTaskId`) goes under its LOOP_OVER, grouped by `_loopIndex`. Order is the API's order, in which
 * groups appear in the order their first task does. A task whose parent is not in the list (or that
 * would be its own ancestor) is shown at the top level rather than lost. */
export function buildTaskTree(tasks) {
  const nodes = new Map();
  for (const task of tasks) {
    if (task && task._id !== undefined && !nodes.has(task._id)) nodes.set(task._id, { task, groups: [] });
  }
  const parentOf = (task) => task._parentTaskId ?? task._loopTaskId;
  const roots = [];
  for (const task of tasks) {
    const node = nodes.get(task?._id);
    if (!node || node.task !== task) {
      roots.push({ task, groups: [] }); // no id, or an id seen twice: still shown
      continue;
    }
    const parent = nodes.get(parentOf(task));
    if (!parent || isAncestor(node, parent, nodes, parentOf)) {
      roots.push(node);
      continue;
    }
    const kind = task._parentTaskId !== undefined && task._parentTaskId !== null ? 'branch' : 'iteration';
    const key = kind === 'branch' ? task._branch : task._loopIndex;
    let group = parent.groups.find((found) => found.kind === kind && found.key === key);
    if (!group) {
      group = { kind, key, nodes: [] };
      parent.groups.push(group);
    }
    group.nodes.push(node);
  }
  return roots;
}

function isAncestor(node, candidate, nodes, parentOf) {
  const seen = new Set();
  for (let at = candidate; at; at = nodes.get(parentOf(at.task))) {
    if (at === node) return true;
    if (seen.has(at)) return true; // a loop among other tasks: break it here
    seen.add(at);
  }
  return false;
}

export function groupLabel(parentTask, group) {
  if (group.kind === 'iteration') return `Iteration ${group.key}`;
  if (parentTask._type === 'SWITCH') {
    const label = group.key === '_defaultCase' ? 'Default case' : `Case “${group.key}”`;
    const chosen = parentTask._output?._selectedCase;
    return chosen !== undefined && String(chosen) === String(group.key) ? `${label} (chosen)` : label;
  }
  return `Branch ${group.key}`;
}

/** The tree as nested lists. `openKeys` holds which "Input and output" panels the user opened, so
 * that a refresh draws them open again. */
export function taskList(nodes, { openKeys, nsfilter, now = Date.now() }) {
  return h(
    'ol',
    { class: 'tasks' },
    nodes.map((node) => taskItem(node, { openKeys, nsfilter, now })),
  );
}

function taskItem({ task, groups }, options) {
  const duration = durationBetween(task._startedAt, task._endedAt, options.now);
  const facts = [];
  if (task._attempts !== undefined && task._attempts !== null) {
    const allowed = (task._retryCount ?? 0) + 1;
    facts.push(['Attempts', `${task._attempts} of ${allowed}`]);
  }
  if (task._startedAt) facts.push(['Started', timeElement(task._startedAt)]);
  if (task._endedAt) facts.push(['Ended', timeElement(task._endedAt)]);
  if (duration !== null) facts.push([task._endedAt ? 'Took' : 'Running for', formatDuration(duration)]);
  const key = `task-${task._id}`;
  const hasData = task._inputParams !== undefined || (task._output !== undefined && task._output !== null);
  const details = hasData
    ? h(
        'details',
        {
          class: 'task-data',
          open: options.openKeys.has(key),
          dataset: { openKey: key },
          ontoggle: (event) => {
            if (event.target.open) options.openKeys.add(key);
            else options.openKeys.delete(key);
          },
        },
        h('summary', { dataset: { focusKey: `summary-${key}` } }, 'Input and output'),
        h('h4', null, 'Input'),
        task._inputParams === undefined
          ? h('p', { class: 'muted' }, 'None declared: the task gets the run’s input.')
          : pre(formatJson(task._inputParams), `Input of ${task._name}`),
        h('h4', null, 'Output'),
        task._output === undefined || task._output === null
          ? h('p', { class: 'muted' }, 'None yet.')
          : pre(formatJson(task._output), `Output of ${task._name}`),
      )
    : null;
  return h(
    'li',
    { class: `task task-${String(task._status ?? '').toLowerCase()}`, dataset: { taskId: task._id ?? '' } },
    h(
      'div',
      { class: 'task-head' },
      h('span', { class: 'task-seq', title: 'Sequence number' }, task._sequenceno ?? ''),
      h('span', { class: 'task-name' }, task._name ?? '(no name)'),
      h('span', { class: 'task-type' }, task._type ?? ''),
      statusBadge(task._status),
    ),
    facts.length
      ? h(
          'dl',
          { class: 'task-facts' },
          facts.map(([term, value]) => h('div', null, h('dt', null, term), h('dd', null, value))),
        )
      : null,
    task._error ? h('p', { class: 'task-error' }, h('strong', null, 'Error: '), task._error) : null,
    task._subWorkflowId
      ? h(
          'p',
          null,
          'Child run: ',
          h('a', { href: href(pathTo('runs', task._subWorkflowId), { nsfilter: options.nsfilter }), class: 'id' }, task._subWorkflowId),
        )
      : null,
    details,
    groups.map((group) => {
      const titleId = uniqueId('group');
      return h(
        'div',
        { class: `task-group task-group-${group.kind}`, role: 'group', 'aria-labelledby': titleId },
        h('p', { class: 'group-title', id: titleId }, groupLabel(task, group)),
        h('ol', { class: 'tasks' }, group.nodes.map((node) => taskItem(node, options))),
      );
    }),
  );
}
