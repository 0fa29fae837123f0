// The app's frame: settings, sign-in, the sections a user's roles open, and the connection
// banner. A link `/?code=XXXX` (from a room's QR code or NFC tag) checks the listener in as
// soon as they are signed in.

import * as api from './api.js';
import { h, field, form, messageLine, act, sentence } from './ui.js';
import * as listener from './listener.js';
import * as staff from './console.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOut = document.getElementById('sign-out');
const banner = document.getElementById('connection');

/** Each section: its hash, its label, who sees it, and the module that draws it. */
const SECTIONS = [
  { hash: 'now', label: 'Now playing', roles: null, draw: listener.now },
  { hash: 'taste', label: 'My taste', roles: null, draw: listener.taste },
  { hash: 'stats', label: 'Stats', roles: null, draw: listener.stats },
  { hash: 'players', label: 'Players', roles: ['admin', 'manager'], draw: staff.players },
  { hash: 'catalogue', label: 'Catalogue', roles: ['admin'], draw: staff.catalogue },
  { hash: 'people', label: 'People', roles: ['admin'], draw: staff.people },
];

let profile = null;
let stopSection = () => {};

function allowed(section) {
  return !section.roles || section.roles.some((role) => profile?.roles?.includes(role));
}

function replaceMain(...children) {
  stopSection();
  stopSection = () => {};
  main.replaceChildren(...children.filter(Boolean));
}

// --- connection ------------------------------------------------------------------------------

const BANNERS = {
  slow: "Cosound's API is slow to answer; still waiting…",
  down: "Cosound's API cannot be reached right now. The page keeps trying and recovers by itself.",
};
// The banner is a live region that stays in the page; empty, it takes no room (CSS), and a
// change of its text is what a screen reader announces.
api.connection.addEventListener('change', ({ detail }) => {
  banner.textContent = BANNERS[detail.state] ?? '';
  banner.className = `banner ${detail.state}`;
});

// --- sign-in ---------------------------------------------------------------------------------

function signInPage(reason = '') {
  nav.hidden = true;
  signOut.hidden = true;
  profile = null;
  const line = messageLine();
  if (reason) line.show(reason, 'error');
  const code = new URLSearchParams(location.search).get('code');
  const credentials = (prefix) => [
    field('E-mail address', { id: `${prefix}-email`, name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', {
      id: `${prefix}-password`, name: 'password', type: 'password', required: true,
      autocomplete: prefix === 'up' ? 'new-password' : 'current-password',
    }),
  ];
  const submitWith = (call) => async (values, _form, button) => {
    const signedIn = await act(button, line, () => call(values.email, values.password));
    if (signedIn === false) line.show('Check your e-mail to confirm the address, then sign in.', 'ok');
  };
  replaceMain(
    h('h1', {}, 'Welcome to Cosound'),
    h('p', { class: 'lead' }, 'The sound of this room follows the people in it. Sign in, check in, and rate what plays.'),
    code ? h('p', { class: 'note', id: 'pending-code' }, `After you sign in you are checked in with the code ${code}.`) : null,
    line,
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'h-sign-in' }, h('h2', { id: 'h-sign-in' }, 'Sign in'),
        form({ id: 'sign-in' }, credentials('in'), 'Sign in', submitWith(api.signIn))),
      h('section', { 'aria-labelledby': 'h-sign-up' }, h('h2', { id: 'h-sign-up' }, 'New here? Sign up'),
        h('p', { class: 'hint' }, 'At least 8 characters, of more than one kind (letters and digits, say).'),
        form({ id: 'sign-up' }, credentials('up'), 'Sign up', submitWith(api.signUp)))),
  );
}

// --- the signed-in app -----------------------------------------------------------------------

async function loadProfile() {
  const rows = await api.read('my_profile');
  if (!rows.length) throw new api.ApiError('this account has no profile here');
  profile = rows[0];
  return profile;
}

/**
 * A pending `?code=` is used once: it leaves the address when the check-in is done or refused.
 * With the API away it stays, and the check-in runs when the API is back.
 */
async function checkInFromLink() {
  const code = new URLSearchParams(location.search).get('code');
  if (!code) return null;
  const dropCode = () => history.replaceState(null, '', `${location.pathname}#now`);
  try {
    const session = await api.rpc('check_in', { code });
    dropCode();
    await loadProfile();
    return { text: `You are checked in at ${session.player_name}.`, kind: 'ok' };
  } catch (error) {
    if (error.unreachable) {
      api.whenBack(async () => {
        if (profile) route(await checkInFromLink());
      });
      return { text: `${sentence(error.message)} You are checked in with the code ${code} once it answers.`, kind: 'error' };
    }
    dropCode();
    return { text: sentence(error.message), kind: 'error' };
  }
}

function drawNav() {
  nav.replaceChildren(...SECTIONS.filter(allowed).map((section) => h('a', {
    href: `#${section.hash}`,
    'aria-current': location.hash.slice(1) === section.hash ? 'page' : false,
  }, section.label)));
  nav.hidden = false;
  signOut.hidden = false;
}

function route(news = null) {
  const wanted = location.hash.slice(1) || 'now';
  const section = SECTIONS.find((s) => s.hash === wanted) ?? SECTIONS[0];
  drawNav();
  if (!allowed(section)) {
    replaceMain(h('h1', {}, 'Not for this account'),
      h('p', { class: 'message error', role: 'alert' }, `The ${section.label.toLowerCase()} page is for ${section.roles.join(' and ')}s; this account is not one.`));
    return;
  }
  const root = h('div', { class: `page ${section.hash}` });
  replaceMain(root);
  const context = { profile, reloadProfile: loadProfile, news };
  stopSection = section.draw(root, context) ?? (() => {});
  main.focus({ preventScroll: true });
}

async function start() {
  if (!api.claims()) {
    signInPage();
    return;
  }
  try {
    await loadProfile();
  } catch (error) {
    if (!api.claims()) return; // the session ended; the sign-in page is showing
    const retry = h('button', { type: 'button', onclick: start }, 'Try again');
    replaceMain(h('p', { class: 'message error', role: 'alert' }, sentence(error.message)), retry);
    if (error.unreachable) api.whenBack(() => retry.isConnected && start());
    return;
  }
  route(await checkInFromLink());
}

window.addEventListener('hashchange', () => profile && route());
signOut.addEventListener('click', () => api.endSession(''));
api.session.addEventListener('change', ({ detail }) => {
  if (detail.signedIn) start();
  else signInPage(detail.reason);
});

async function boot() {
  try {
    await api.loadSettings();
  } catch {
    main.replaceChildren(h('p', { class: 'message error', role: 'alert' },
      'Cosound\'s gateway cannot be reached right now. This page tries again every few seconds.'));
    setTimeout(boot, 3000);
    return;
  }
  start();
}

boot();
