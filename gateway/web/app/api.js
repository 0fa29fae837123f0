// The pages' one door to Cosound: PostgREST through postgrest-js (schema `api`, as on
// Supabase), the gateway for uploads and device keys (this page's own origin), and sign-in
// (the local sign-in functions, or Supabase Auth when the gateway names one).
//
// The session token is the only thing kept in the browser. Every failure becomes an ApiError
// carrying the API's own message; a connection that fails or drags is reported to whoever
// listens on `connection`, so the page can say so while its polls retry.

import { PostgrestClient } from './vendor/postgrest-js/index.mjs';

const TOKEN_KEY = 'cosound.session';
/** A request slower than this is shown as "the API is slow". */
const SLOW_MS = 2500;
/** A request slower than this is given up, and the connection counted as lost. */
const TIMEOUT_MS = 10000;
/** What the gateway answers when PostgREST behind it is away. */
const GATEWAY_AWAY = [502, 503, 504];

let settings = null;

export class ApiError extends Error {
  constructor(message, status = 0, code = '') {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** The request never got an answer (network down, timeout, or the API away behind the gateway). */
  get unreachable() {
    return this.status === 0 || GATEWAY_AWAY.includes(this.status);
  }
}

/** Whether Cosound answers, and whether it is slow: `change` events carry `{ state }`. */
export const connection = new EventTarget();
let state = 'ok';
let pending = 0;
let slowTimer = null;
/** While the API is down, how often a probe asks whether it is back. */
const PROBE_MS = 3000;
let probeTimer = null;

function setState(next) {
  if (next === state) return;
  state = next;
  connection.dispatchEvent(new CustomEvent('change', { detail: { state } }));
  if (state === 'down') probeTimer ??= setTimeout(probe, PROBE_MS);
}

/** A cheap request while down: whatever answers it (even a refusal) means the API is back. */
async function probe() {
  probeTimer = null;
  try {
    await watchedFetch(`${settings.api_url}/players?select=id&limit=1`, { method: 'HEAD', headers: authHeaders() });
  } catch {
    // Still down: asked again below.
  }
  if (state === 'down') probeTimer ??= setTimeout(probe, PROBE_MS);
}

/** Runs `work` once, when the connection is back (soon, if it already is). */
export function whenBack(work) {
  if (state !== 'down') {
    setTimeout(work, PROBE_MS);
    return;
  }
  const listen = ({ detail }) => {
    if (detail.state !== 'ok') return;
    connection.removeEventListener('change', listen);
    work();
  };
  connection.addEventListener('change', listen);
}

/** fetch, timed and watched: the connection state follows what the requests meet. */
async function watchedFetch(input, init = {}) {
  pending += 1;
  // "Slow" only ever interrupts a good connection: a down one stays down until it answers.
  slowTimer ??= setTimeout(() => state === 'ok' && setState('slow'), SLOW_MS);
  try {
    const response = await fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(TIMEOUT_MS) });
    setState(GATEWAY_AWAY.includes(response.status) ? 'down' : 'ok');
    return response;
  } catch (error) {
    setState('down');
    throw error;
  } finally {
    pending -= 1;
    if (pending === 0) {
      clearTimeout(slowTimer);
      slowTimer = null;
      if (state === 'slow') setState('ok');
    }
  }
}

/** `/config.json`: where the API and, on Supabase, its Auth are. */
export async function loadSettings() {
  const response = await watchedFetch('/config.json');
  if (!response.ok) throw new ApiError(`the gateway's settings did not load (HTTP ${response.status})`, response.status);
  settings = await response.json();
  // A path (the default, `/rest/v1`) is on this page's own origin.
  settings.api_url = new URL(settings.api_url, location.href).href.replace(/\/$/, '');
  return settings;
}

// --- the session ---------------------------------------------------------------------------

/** Fired as `change` when the session starts or ends; `detail.reason` says why it ended. */
export const session = new EventTarget();

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

/** The token's claims (`sub`, `email`, `exp`), or null when signed out; a dead token is dropped. */
export function claims() {
  const jwt = token();
  if (!jwt) return null;
  let payload = null;
  try {
    payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    // Not a JWT: dropped below.
  }
  if (payload?.exp * 1000 > Date.now()) return payload;
  localStorage.removeItem(TOKEN_KEY);
  return null;
}

/** The signed-in caller's Authorization header, or none. */
function authHeaders() {
  const jwt = claims() && token();
  return jwt ? { Authorization: `Bearer ${jwt}` } : {};
}

function startSession(accessToken) {
  if (!accessToken) throw new ApiError('the sign-in answered without a session token');
  localStorage.setItem(TOKEN_KEY, accessToken);
  session.dispatchEvent(new CustomEvent('change', { detail: { signedIn: true } }));
}

export function endSession(reason = '') {
  localStorage.removeItem(TOKEN_KEY);
  session.dispatchEvent(new CustomEvent('change', { detail: { signedIn: false, reason } }));
}

/** Supabase Auth's JSON errors name their message differently by endpoint and version. */
async function authCall(path, body) {
  let response;
  try {
    response = await watchedFetch(`${settings.auth_url}${path}`, {
      method: 'POST',
      headers: { apikey: settings.anon_key, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError('Cosound cannot be reached right now; try again in a moment');
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = answer.error_description ?? answer.msg ?? answer.message ?? `sign-in failed (HTTP ${response.status})`;
    throw new ApiError(message, response.status, answer.error_code ?? answer.error ?? '');
  }
  return answer;
}

export async function signIn(email, password) {
  const answer = settings.auth_url
    ? await authCall('/token?grant_type=password', { email, password })
    : await run(db({ anonymous: true }).rpc('sign_in', { email, password }));
  startSession(answer.access_token);
}

/**
 * Signs up and in; false when Supabase Auth wants the address confirmed first. The local
 * sign-up answers alike for new and taken addresses, so signing in says whether it worked.
 */
export async function signUp(email, password) {
  if (!settings.auth_url) {
    await run(db({ anonymous: true }).rpc('sign_up', { email, password }));
    await signIn(email, password);
    return true;
  }
  const answer = await authCall('/signup', { email, password });
  if (!answer.access_token) return false;
  startSession(answer.access_token);
  return true;
}

// --- PostgREST -----------------------------------------------------------------------------

/** postgrest-js for this caller; `anonymous` for sign-in, which must not send an old token. */
function db({ anonymous = false } = {}) {
  const headers = anonymous ? {} : authHeaders();
  if (settings.anon_key) headers.apikey = settings.anon_key;
  return new PostgrestClient(settings.api_url, { schema: 'api', headers, fetch: watchedFetch });
}

const EXPIRED = /JWT expired|token's user has no account/i;

/** Awaits a postgrest-js query; its data, or an ApiError with PostgREST's message. */
async function run(builder) {
  const { data, error, status } = await builder;
  if (!error) return data;
  if (status === 0 || GATEWAY_AWAY.includes(status)) {
    throw new ApiError("Cosound's API cannot be reached right now; the page keeps trying", status, 'unreachable');
  }
  if (status === 401 && token() && EXPIRED.test(error.message)) {
    endSession('Your session has ended: sign in again.');
  }
  throw new ApiError(error.message || `the API answered HTTP ${status}`, status, error.code ?? '');
}

/** Calls `api.<name>` with named arguments (POST /rpc/<name>). */
export function rpc(name, args = {}) {
  return run(db().rpc(name, args));
}

/** Reads a view: `shape` adds filters and order to the select, e.g. `q => q.eq('id', 1)`. */
export function read(view, shape = (query) => query, columns = '*') {
  return run(shape(db().from(view).select(columns)));
}

/** Reads a set-returning function by GET, with filters as for a view. */
export function readRpc(name, shape = (query) => query) {
  return run(shape(db().rpc(name, {}, { get: true })));
}

// --- the gateway ---------------------------------------------------------------------------

async function gatewayAnswer(response) {
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(answer.message ?? `the gateway answered HTTP ${response.status}`, response.status, answer.error ?? '');
  }
  return answer;
}

/** A JSON call to the gateway, e.g. `gateway('POST', '/players/3/key')`. */
export async function gateway(method, path) {
  let response;
  try {
    response = await watchedFetch(path, { method, headers: authHeaders() });
  } catch {
    throw new ApiError('the gateway cannot be reached right now; try again in a moment');
  }
  return gatewayAnswer(response);
}

/**
 * Uploads one audio file (`POST /songs?title=…&type=…`); `progress(fraction)` follows the
 * bytes sent. XMLHttpRequest, because fetch reports no upload progress.
 */
export function upload(file, { title, type }, progress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    const query = new URLSearchParams({ title, type });
    request.open('POST', `/songs?${query}`);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    };
    request.onload = () => {
      let answer = {};
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        // Not JSON: the status alone tells.
      }
      if (request.status >= 200 && request.status < 300) resolve(answer);
      else reject(new ApiError(answer.message ?? `the upload failed (HTTP ${request.status})`, request.status, answer.error ?? ''));
    };
    request.onerror = () => reject(new ApiError('the upload was cut off: the gateway cannot be reached'));
    request.send(file);
  });
}
