// Views live in the URL's fragment (#/runs?nsfilter=demo&_status=FAILED): the server serves one page,
// and a view, filters included, can be bookmarked and shared. Query keys are the API's own.

export function currentRoute() {
  const fragment = location.hash.replace(/^#/, '');
  const cut = fragment.indexOf('?');
  const path = (cut < 0 ? fragment : fragment.slice(0, cut)) || '/runs';
  const params = new URLSearchParams(cut < 0 ? '' : fragment.slice(cut + 1));
  const segments = path.split('/').filter(Boolean).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  return { path, segments, params };
}

/** `#/runs?nsfilter=a,b`: empty values left out, commas kept readable. */
export function href(path, params = {}) {
  const query = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? params.entries() : Object.entries(params);
  for (const [name, value] of entries) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString().replaceAll('%2C', ',');
  return `#${path}${text ? `?${text}` : ''}`;
}

export function pathTo(...segments) {
  return `/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}

const NAMESPACES_KEY = 'workflowsvc.console.nsfilter';

/** The namespaces last used, for a view whose URL names none. */
export function rememberedNamespaces() {
  try {
    return localStorage.getItem(NAMESPACES_KEY) ?? '';
  } catch {
    return '';
  }
}

export function rememberNamespaces(nsfilter) {
  try {
    if (nsfilter) localStorage.setItem(NAMESPACES_KEY, nsfilter);
  } catch {
    // storage refused (private mode): the URL still carries the namespaces
  }
}
