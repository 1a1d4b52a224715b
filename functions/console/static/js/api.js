// The Workflow API, called from the page: JSON in and out, the user's token as a bearer token when
// signed in, and the API's own error (`_error._code`, `_error._message`) carried to whoever shows it.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function createApi({ basePath, token, onUnauthorized }) {
  async function request(method, path, { params, body, signal } = {}) {
    const url = new URL(`${basePath}${path}`, location.origin);
    for (const [name, value] of Object.entries(params ?? {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
    }
    const headers = { Accept: 'application/json' };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      // A body given as text is sent as typed, so that the API judges exactly what the user wrote.
      const payload = body === undefined || typeof body === 'string' ? body : JSON.stringify(body);
      response = await fetch(url, { method, headers, body: payload, signal, cache: 'no-store' });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, 'NETWORK', `The API did not answer (${error.message}).`);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401) onUnauthorized?.();
      const detail = data?._error;
      throw new ApiError(
        response.status,
        detail?._code ?? `HTTP_${response.status}`,
        detail?._message ?? data?.message ?? `The API answered ${response.status} ${response.statusText}.`,
      );
    }
    return data;
  }

  return {
    get: (path, options) => request('GET', path, options),
    post: (path, options) => request('POST', path, options),
    put: (path, options) => request('PUT', path, options),
  };
}
