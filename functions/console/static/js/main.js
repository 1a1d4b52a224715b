import { createApi } from './api.js';
import { createAuth } from './auth.js';
import { h, replace } from './dom.js';
import { currentRoute, href, rememberedNamespaces } from './route.js';
import { definitionView } from './views/definition.js';
import { definitionsView } from './views/definitions.js';
import { newDefinitionView } from './views/new_definition.js';
import { runView } from './views/run.js';
import { runsView } from './views/runs.js';

const main = document.getElementById('main');
const session = document.getElementById('session');
let auth = null;
let api = null;
let leaveView = null;
let shownPath = null;

function viewFor(route) {
  const [section, id] = route.segments;
  if (section === 'runs') return id ? runView : runsView;
  if (section === 'definitions') {
    if (id === 'new') return newDefinitionView;
    return id ? definitionView : definitionsView;
  }
  return notFoundView;
}

function notFoundView({ setTitle }) {
  setTitle('Not found');
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Not found'),
    h('p', null, 'The console has no such page. ', h('a', { href: '#/runs' }, 'See the runs.')),
  );
}

function signInView(message) {
  document.title = 'Sign in · workflowsvc console';
  const status = h('p', { role: 'alert', class: message ? 'alert' : '' }, message ?? '');
  const button = h('button', { type: 'button', class: 'primary', disabled: !auth.clientId }, 'Sign in');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await auth.start(location.hash || '#/runs');
    } catch (error) {
      button.disabled = false;
      replace(status, error.message);
      status.className = 'alert';
    }
  });
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Sign in'),
    h('p', null, `Runs and definitions are shown to the people ${issuerName()} signs in.`),
    button,
    status,
  );
  if (!auth.clientId && !message) {
    replace(status, 'This console has no OIDC client id: deploy it with ConsoleClientId set.');
    status.className = 'alert';
  }
  replace(session);
}

function issuerName() {
  try {
    return new URL(auth.issuer).host;
  } catch {
    return 'the sign-in service';
  }
}

function showSession() {
  if (!auth.required) {
    replace(session, h('span', { class: 'muted' }, 'Local run: no sign-in'));
    return;
  }
  const user = auth.user();
  if (!user) {
    replace(session);
    return;
  }
  replace(
    session,
    h('span', null, 'Signed in as ', h('strong', null, user)),
    ' ',
    h('button', { type: 'button', class: 'link-button', onclick: () => auth.signOut() }, 'Sign out'),
  );
}

function markNavigation(route) {
  const nsfilter = route.params.get('nsfilter') || rememberedNamespaces();
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.setAttribute('href', href(`/${link.dataset.nav}`, { nsfilter }));
    if (route.segments[0] === link.dataset.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function render() {
  leaveView?.();
  leaveView = null;
  if (auth.required && !auth.token()) {
    signInView();
    return;
  }
  showSession();
  const route = currentRoute();
  // Another page (not new filters on the same one) takes the focus to its heading, so that a screen
  // reader says where the user now is.
  const moveFocus = shownPath !== null && shownPath !== route.path;
  shownPath = route.path;
  markNavigation(route);
  const view = viewFor(route);
  const context = {
    main,
    api,
    route,
    setTitle: (title) => {
      document.title = `${title} · workflowsvc console`;
    },
  };
  leaveView = view(context) ?? null;
  if (moveFocus) main.querySelector('h1')?.focus();
}

async function start() {
  let config;
  try {
    const response = await fetch('/console/config.json', { cache: 'no-store' });
    config = await response.json();
  } catch (error) {
    replace(main, h('p', { role: 'alert', class: 'alert' }, `The console could not load its settings (${error.message}).`));
    return;
  }
  auth = createAuth(config.signIn);
  api = createApi({
    basePath: config.apiBasePath,
    token: () => auth.token(),
    onUnauthorized: () => {
      if (!auth.required) return;
      auth.expire();
      signInView('Your session has ended: sign in again.');
    },
  });
  try {
    await auth.complete();
  } catch (error) {
    signInView(error.message);
    return;
  }
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#/') || location.hash === '') render();
  });
  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  render();
}

start();
