// Sign-in, deployed: OpenID Connect authorization code flow with PKCE against the issuer the API's JWT
// authorizer trusts. The page is a public client (no secret); the token lives in this tab's
// sessionStorage only, and goes to the API as `Authorization: Bearer`. Locally there is no sign-in.

const TOKEN_KEY = 'workflowsvc.console.token';
const PENDING_KEY = 'workflowsvc.console.signin';
// A token this close to its expiry is not sent: the user signs in again instead of meeting a 401.
const EXPIRY_MARGIN_MS = 30_000;

export class SignInError extends Error {}

function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function randomText(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function codeChallenge(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** A JWT's claims, read for display and expiry only: the API's authorizer is what checks the token. */
export function jwtClaims(token) {
  try {
    const payload = token.split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    const text = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function readJson(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? 'null');
  } catch {
    return null;
  }
}

export function createAuth(signIn) {
  if (!signIn) {
    return { required: false, token: () => null, user: () => null, complete: async () => {}, expire() {}, signOut() {} };
  }
  const issuer = signIn.issuer.replace(/\/+$/, '');
  const redirectUri = `${location.origin}/console/`;
  let discovered = null;

  async function discovery() {
    if (!discovered) {
      let response;
      try {
        response = await fetch(`${issuer}/.well-known/openid-configuration`, { cache: 'no-store' });
      } catch (error) {
        throw new SignInError(`The sign-in service at ${issuer} did not answer (${error.message}).`);
      }
      if (!response.ok) throw new SignInError(`The sign-in service at ${issuer} answered ${response.status}.`);
      discovered = await response.json();
    }
    return discovered;
  }

  function stored() {
    const saved = readJson(TOKEN_KEY);
    return saved && saved.expiresAt - EXPIRY_MARGIN_MS > Date.now() ? saved : null;
  }

  return {
    required: true,
    issuer,
    clientId: signIn.clientId,
    token: () => stored()?.token ?? null,
    user: () => stored()?.user ?? null,

    /** Leaves for the issuer's sign-in page; the view to come back to is kept for `complete`. */
    async start(returnTo) {
      if (!signIn.clientId) throw new SignInError('This console has no OIDC client id: deploy it with ConsoleClientId set.');
      const endpoints = await discovery();
      const verifier = randomText(48);
      const state = randomText(16);
      const nonce = randomText(16);
      sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, nonce, returnTo }));
      const url = new URL(endpoints.authorization_endpoint);
      const query = {
        response_type: 'code',
        client_id: signIn.clientId,
        redirect_uri: redirectUri,
        scope: signIn.scope,
        state,
        nonce,
        code_challenge: await codeChallenge(verifier),
        code_challenge_method: 'S256',
      };
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      location.assign(url.toString());
    },

    /** On the way back from the issuer (`?code=...&state=...`): trades the code for tokens. */
    async complete() {
      const answer = new URLSearchParams(location.search);
      if (!answer.has('code') && !answer.has('error')) return;
      const pending = readJson(PENDING_KEY);
      sessionStorage.removeItem(PENDING_KEY);
      // The code leaves the address bar (and the history) at once.
      history.replaceState(null, '', `${location.pathname}${pending?.returnTo || '#/runs'}`);
      if (answer.has('error')) {
        throw new SignInError(`Sign-in failed: ${answer.get('error_description') || answer.get('error')}.`);
      }
      if (!pending || answer.get('state') !== pending.state) {
        throw new SignInError('The sign-in answer does not belong to a sign-in started here; sign in again.');
      }
      if (answer.has('iss') && answer.get('iss').replace(/\/+$/, '') !== issuer) {
        throw new SignInError('The sign-in answer comes from another issuer; sign in again.');
      }
      const endpoints = await discovery();
      let response;
      try {
        response = await fetch(endpoints.token_endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code: answer.get('code'),
            redirect_uri: redirectUri,
            client_id: signIn.clientId,
            code_verifier: pending.verifier,
          }),
        });
      } catch (error) {
        throw new SignInError(`The token endpoint did not answer (${error.message}).`);
      }
      const tokens = await response.json().catch(() => ({}));
      if (!response.ok) {
        throw new SignInError(`Sign-in failed: ${tokens.error_description || tokens.error || response.status}.`);
      }
      const idClaims = tokens.id_token ? jwtClaims(tokens.id_token) : {};
      if (tokens.id_token && idClaims.nonce !== pending.nonce) {
        throw new SignInError('The ID token does not carry this sign-in’s nonce; sign in again.');
      }
      const token = tokens[signIn.bearerToken];
      if (!token) throw new SignInError(`The issuer gave no ${signIn.bearerToken}.`);
      const claims = jwtClaims(token);
      const expiresAt = claims.exp ? claims.exp * 1000 : Date.now() + (Number(tokens.expires_in) || 3600) * 1000;
      const user = idClaims.email || idClaims.preferred_username || idClaims.name || claims.username || claims.sub || idClaims.sub;
      sessionStorage.setItem(
        TOKEN_KEY,
        JSON.stringify({ token, expiresAt, user: user ?? 'signed in', idToken: tokens.id_token ?? null }),
      );
    },

    /** The API refused the token (401): forget it, so the next view asks to sign in. */
    expire() {
      sessionStorage.removeItem(TOKEN_KEY);
    },

    async signOut() {
      const saved = readJson(TOKEN_KEY);
      sessionStorage.removeItem(TOKEN_KEY);
      const endpoints = await discovery().catch(() => null);
      if (endpoints?.end_session_endpoint) {
        const url = new URL(endpoints.end_session_endpoint);
        url.searchParams.set('client_id', signIn.clientId);
        url.searchParams.set('post_logout_redirect_uri', redirectUri);
        if (saved?.idToken) url.searchParams.set('id_token_hint', saved.idToken);
        location.assign(url.toString());
      } else {
        location.reload();
      }
    },
  };
}
