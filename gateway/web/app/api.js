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

let settings = null;

export class ApiError extends Error {
  constructor(message, status = 0, code = '') {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** The request never got an answer (network down, timeout, or the API away). */
  get unreachable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** Whether Cosound answers, and whether it is slow: `change` events carry `{ state }`. */
export const connection = new EventTarget();
let state = 'ok';
let pending = 0;
let slowTimer = null;

function setState(next) {
  if (next !== state) {
    state = next;
    connection.dispatchEvent(new CustomEvent('change', { detail: { state } }));
  }
}

/** fetch, timed and watched: the connection state follows what the requests meet. */
async function watchedFetch(input, init = {}) {
  pending += 1;
  slowTimer ??= setTimeout(() => setState('slow'), SLOW_MS);
  try {
    const response = await fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(TIMEOUT_MS) });
    setState([502, 503, 504].includes(response.status) ? 'down' : 'ok');
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

/** The token's claims (`sub`, `email`, `exp`), or null when signed out or expired. */
export function claims() {
  const jwt = token();
  if (!jwt) return null;
  try {
    const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp * 1000 > Date.now() ? payload : null;
  } catch {
    return null;
  }
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
    : await rpc('sign_in', { email, password });
  startSession(answer.access_token);
}

/** Signs up and in; false when Supabase Auth wants the address confirmed first. */
export async function signUp(email, password) {
  const answer = settings.auth_url
    ? await authCall('/signup', { email, password })
    : await rpc('sign_up', { email, password });
  if (!answer.access_token) return false;
  startSession(answer.access_token);
  return true;
}

// --- PostgREST -----------------------------------------------------------------------------

function db() {
  const headers = {};
  const jwt = token();
  if (jwt) headers.Authorization = `Bearer ${jwt}`;
  if (settings.anon_key) headers.apikey = settings.anon_key;
  return new PostgrestClient(settings.api_url, { schema: 'api', headers, fetch: watchedFetch });
}

const EXPIRED = /JWT expired|token's user has no account/i;

/** Awaits a postgrest-js query; its data, or an ApiError with PostgREST's message. */
async function run(builder) {
  const { data, error, status } = await builder;
  if (!error) return data;
  if (status === 0) {
    throw new ApiError("Cosound's API cannot be reached right now; the page keeps trying", 0, 'unreachable');
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
    response = await watchedFetch(path, { method, headers: { Authorization: `Bearer ${token()}` } });
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
    request.setRequestHeader('Authorization', `Bearer ${token()}`);
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
