// The staff console, shown by role: managers run their players (status, who is checked in,
// what plays, library, check-in codes with printable QR codes, the device key, history and
// failures); admins also upload and correct sounds, create and hand over players, and grant
// roles. The page only hides what a role may not do; the API refuses it anyway.

import * as api from './api.js';
import qrcode from './vendor/qrcode-generator/qrcode.mjs';
import { h, act, messageLine, section, form, field, choice, vectorBars, parseVector, when, every, load, refresh, sentence } from './ui.js';

const STATUS_POLL_MS = 5000;
const TYPES = [['soundscape', 'soundscape (a looped layer)'], ['instrumental', 'instrumental']];

const isAdmin = (profile) => profile.roles.includes('admin');

// --- players ---------------------------------------------------------------------------------

export function players(root, context) {
  const { profile } = context;
  const line = messageLine();
  const list = h('ul', { class: 'player-list', id: 'player-list' });
  const detail = h('div', { id: 'player-detail' });
  let selected = null;
  let shown = null;
  let stopDetail = () => {};
  let live = true;
  let turn = 0;

  // Draws the list; the detail is drawn again only when another player is chosen, so a
  // rename or a hand-over keeps its panel (and its message) and updates the name in place.
  const loadList = async () => {
    const mine = ++turn;
    const rows = await api.read('players', (q) => q.order('name'));
    if (!live || mine !== turn) return;
    const theirs = isAdmin(profile) ? rows : rows.filter((p) => p.manager_id === profile.id);
    if (!theirs.some((p) => p.id === selected)) selected = theirs[0]?.id ?? null;
    refresh(list, ...theirs.map((p) => h('li', {},
      h('button', {
        type: 'button', class: 'pick', 'aria-pressed': String(p.id === selected), 'data-player': p.id, 'data-key': `player-${p.id}`,
        onclick: () => { selected = p.id; reload(); },
      }, h('span', {}, p.name), h('span', { class: `badge ${p.online ? 'on' : 'off'}` }, p.online ? 'online' : 'offline')))));
    if (!theirs.length) list.append(h('li', {}, 'No players yet: create one below.'));
    const player = theirs.find((p) => p.id === selected);
    if (player && player.id === shown) {
      detail.querySelector('#player-title').textContent = player.name;
      return;
    }
    stopDetail();
    stopDetail = () => {};
    shown = player?.id ?? null;
    if (player) stopDetail = playerDetail(detail, player, profile, reload);
    else detail.replaceChildren();
  };
  const reload = () => loadList().catch((e) => line.show(sentence(e.message), 'error'));

  const createFields = [field('Name of the room', { id: 'new-player-name', name: 'name', required: true, maxlength: 100 })];
  if (isAdmin(profile)) {
    createFields.push(field('Its manager\'s e-mail (empty: you)', { id: 'new-player-manager', name: 'manager_email', type: 'email' }));
  }
  const createLine = messageLine();
  const create = form({ id: 'create-player' }, createFields, 'Create player', async (values, element, button) => {
    const args = { name: values.name };
    if (values.manager_email) args.manager_email = values.manager_email;
    const made = await act(button, createLine, () => api.rpc('create_player', args), (p) => `Player ${p.name} is created. Give its device a key below.`);
    if (made) {
      element.reset();
      selected = made.id;
      await reload();
    }
  });

  root.replaceChildren(
    h('h1', {}, 'Players'), line,
    h('div', { class: 'console' },
      h('div', {}, section('Your players', list), section('New player', createLine, create)),
      detail));
  load(line, loadList);
  return () => {
    live = false;
    stopDetail();
  };
}

/** One player's whole console; returns what stops its polling. */
function playerDetail(root, player, profile, reloadList) {
  const line = messageLine();
  const status = h('p', { class: 'status', id: 'player-status' });
  const present = h('ul', { id: 'checked-in' });
  const playing = h('ul', { id: 'player-playing', class: 'queue' });
  const why = h('div', { id: 'why' });

  const refreshStatus = async () => {
    const [[now], here, queue, versions] = await Promise.all([
      api.read('players', (q) => q.eq('id', player.id)),
      api.readRpc('checked_in', (q) => q.eq('player_id', player.id)),
      api.read('player_queue', (q) => q.eq('player_id', player.id).order('slot')),
      api.read('queue_versions', (q) => q.eq('player_id', player.id).order('version', { ascending: false }).limit(WHY_VERSIONS)),
    ]);
    await drawWhy(why, versions);
    status.replaceChildren(h('span', { class: `badge ${now?.online ? 'on' : 'off'}` }, now?.online ? 'online' : 'offline'),
      ` Last seen ${when(now?.last_seen_at)}.`);
    present.replaceChildren(...(here.length
      ? here.map((s) => h('li', {}, `${s.display_name}, since ${when(s.started_at)}`))
      : [h('li', {}, 'Nobody is checked in.')]));
    playing.replaceChildren(...(queue.length
      ? queue.map((q) => h('li', {}, `${q.role === 'layer' ? 'Layer' : 'Next instrumental'}: ${q.title} (gain ${q.gain.toFixed(2)})`))
      : [h('li', {}, 'Nothing queued yet.')]));
  };

  const renameLine = messageLine();
  const rename = form({ id: 'rename-player', class: 'inline' },
    [field('Name', { id: 'rename-name', name: 'name', required: true, value: player.name, maxlength: 100 })],
    'Rename', async (values, _f, button) => {
      if (await act(button, renameLine, () => api.rpc('rename_player', { player_id: player.id, name: values.name }), (r) => `Renamed to ${r.name}.`)) {
        await reloadList();
      }
    });

  const handOver = isAdmin(profile) ? handOverForm(player, reloadList) : null;

  root.replaceChildren(
    h('h2', { id: 'player-title' }, player.name),
    line, status,
    h('div', { class: 'panels' },
      section('Checked in now', present),
      section('Playing', playing),
      mixPanel(player, why),
      schedulePanel(player),
      codesPanel(player),
      keyPanel(player),
      section('Name', renameLine, rename),
      handOver,
      libraryPanel(player),
      historyPanel(player)));
  load(line, refreshStatus);
  return every(STATUS_POLL_MS, refreshStatus);
}

function handOverForm(player, reloadList) {
  const line = messageLine();
  return section('Manager', line,
    form({ id: 'hand-over', class: 'inline' },
      [field('Hand to the manager with e-mail', { id: 'hand-over-email', name: 'manager_email', type: 'email', required: true })],
      'Hand over', async (values, _f, button) => {
        const done = await act(button, line, () => api.rpc('set_player_manager', { player_id: player.id, manager_email: values.manager_email }),
          () => `${player.name} now belongs to ${values.manager_email}.`);
        if (done) await reloadList();
      }));
}

function libraryPanel(player) {
  const line = messageLine();
  const list = h('ul', { id: 'library' });
  const picker = h('select', { id: 'library-add', name: 'song' });
  const addButton = h('button', { type: 'submit' }, 'Add');
  const draw = async () => {
    const [library, songs] = await Promise.all([
      api.read('player_library', (q) => q.eq('player_id', player.id).order('title')),
      api.read('songs', (q) => q.order('title'), 'id,title,type'),
    ]);
    const inside = new Set(library.map((s) => s.song_id));
    list.replaceChildren(...(library.length
      ? library.map((s) => h('li', {}, `${s.title} (${s.type}) `, h('button', {
        type: 'button', class: 'quiet',
        onclick: (event) => change(event.currentTarget, 'remove_from_library', s.song_id, `${s.title} is out of the library.`),
      }, 'Remove', h('span', { class: 'visually-hidden' }, ` ${s.title}`))))
      : [h('li', {}, 'No library: this player may play the whole catalogue.')]));
    const outside = songs.filter((s) => !inside.has(s.id));
    picker.replaceChildren(...outside.map((s) => h('option', { value: s.id }, `${s.title} (${s.type})`)));
    if (!outside.length) picker.append(h('option', { value: '' }, 'every sound is in the library'));
    picker.disabled = !outside.length;
    addButton.disabled = !outside.length;
  };
  const change = async (control, call, songId, done) => {
    if (await act(control, line, () => api.rpc(call, { player_id: player.id, song_ids: [songId] }), () => done)) await draw();
  };
  const add = h('form', { class: 'inline' }, h('p', { class: 'field' }, h('label', { for: 'library-add' }, 'Add a sound'), picker), addButton);
  add.addEventListener('submit', (event) => {
    event.preventDefault();
    if (picker.value) change(addButton, 'add_to_library', Number(picker.value), 'Added to the library.');
  });
  load(line, draw);
  return section('Library', h('p', { class: 'hint' }, 'The only sounds this player may play; an empty library allows them all.'), line, list, add);
}

/** The group strategies (`group.rs`), in the words a manager chooses by. */
const STRATEGIES = [
  ['mean', 'The room\u2019s average taste', 'what suits most of those here; the odd one out may not be served'],
  ['least_misery', 'Nobody left out', 'each sound is judged by the listener it suits least'],
  ['fair', 'Take turns', 'those the mix has served least so far in their visit count more'],
];

/** What set a queue version off (`why.rs`), as a manager reads it. */
const TRIGGERS = {
  first: 'The player\u2019s first mix',
  strategy: 'The strategy changed',
  check_in: 'Someone checked in',
  check_out: 'Someone left',
  rating: 'A listener\u2019s taste moved',
  catalogue: 'The sounds or the library changed',
  play: 'A sound played',
  clock: 'Time passed',
};
const WHY_VERSIONS = 5;

/** The latest queue versions, newest first, and what the newest holds with each item's fit. */
async function drawWhy(root, versions) {
  if (!versions.length) {
    root.replaceChildren(h('p', {}, 'No mix yet.'));
    return;
  }
  const latest = versions[0];
  const [items, songs] = await Promise.all([
    api.read('queue_version_items', (q) => q.eq('player_id', latest.player_id).eq('version', latest.version).order('slot')),
    api.read('songs', (q) => q.in('id', versions.flatMap((v) => [v.layer_in, v.layer_out]).filter((id) => id != null)), 'id,title'),
  ]);
  const title = (id) => songs.find((s) => s.id === id)?.title ?? 'a removed sound';
  const change = (v) => ({
    kept: 'the layers stayed',
    whole: 'a whole new mix',
    swapped: `${title(v.layer_in)} replaced ${title(v.layer_out)}`,
    added: `${title(v.layer_in)} joined`,
    dropped: `${title(v.layer_out)} left`,
  })[v.layer_change];
  const strategy = (v) => STRATEGIES.find(([value]) => value === v.strategy)?.[1] ?? v.strategy;
  const percent = (x) => `${Math.round(x * 100)} %`;
  root.replaceChildren(
    h('h3', {}, 'Why this mix'),
    h('ol', { id: 'why-versions', class: 'why' }, ...versions.map((v) => h('li', { 'data-version': v.version },
      h('strong', {}, TRIGGERS[v.trigger] ?? v.trigger), `: ${change(v)}. `,
      `${when(v.made_at)}, for ${v.listeners === 1 ? '1 listener' : `${v.listeners} listeners`}, by \u201c${strategy(v)}\u201d.`))),
    h('table', { id: 'why-items' },
      h('caption', {}, `What version ${latest.version} holds`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Sound'), h('th', { scope: 'col' }, 'Fit to the room'), h('th', { scope: 'col' }, 'Rest after playing'))),
      h('tbody', {}, ...items.map((i) => h('tr', {},
        h('td', {}, `${i.title}${i.role === 'instrumental' ? ' (instrumental)' : ''}`),
        h('td', {}, percent(i.fit)),
        h('td', {}, i.penalty >= 0.005 ? `\u2212${percent(i.penalty)}` : 'none'))))));
}

function mixPanel(player, why) {
  const line = messageLine();
  let current = player.strategy ?? 'mean';
  const choices = STRATEGIES.map(([value, label, hint]) => {
    const input = h('input', { type: 'radio', name: 'strategy', id: `strategy-${value}`, value, checked: value === current });
    input.addEventListener('change', async () => {
      const done = await act(input, line, () => api.rpc('set_player_strategy', { player_id: player.id, strategy: value }),
        () => `${label}: the mix follows from now on.`);
      if (done) current = value;
      else document.getElementById(`strategy-${current}`).checked = true;
    });
    return h('p', { class: 'choice' }, input, ' ', h('label', { for: `strategy-${value}` }, h('strong', {}, label), `: ${hint}.`));
  });
  return section('Mix', h('fieldset', { id: 'strategy' }, h('legend', {}, 'How the listeners here count'), ...choices), line, why);
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * The player's time blocks, edited as rows and saved together (`set_player_schedule`), and the
 * time zone they are read in. A block's own library is an API option the page leaves alone.
 */
function schedulePanel(player) {
  const line = messageLine();
  const rows = h('div', { id: 'schedule-blocks' });
  let next = 0;
  let libraries = new Map();

  const addRow = (block = { days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00', volume_cap: 1, instrumentals: true, library: [] }) => {
    const n = next++;
    const id = (part) => `block-${n}-${part}`;
    const days = h('fieldset', { class: 'days' }, h('legend', {}, 'Days'),
      ...WEEKDAYS.map((day, i) => h('span', { class: 'day' },
        h('input', { type: 'checkbox', id: id(`day-${i + 1}`), value: i + 1, checked: block.days.includes(i + 1) }),
        h('label', { for: id(`day-${i + 1}`) }, day))));
    const time = (part, label, value) => h('p', { class: 'field' }, h('label', { for: id(part) }, label),
      h('input', { id: id(part), value, inputmode: 'numeric', pattern: '[0-2][0-9]:[0-5][0-9]', placeholder: 'HH:MM', size: 5, required: true }));
    const cap = h('input', { id: id('cap'), type: 'number', min: 0, max: 100, step: 5, value: Math.round(block.volume_cap * 100), required: true });
    const instrumentals = h('input', { type: 'checkbox', id: id('instrumentals'), checked: block.instrumentals });
    const row = h('div', { class: 'block', 'data-block': n },
      days,
      time('from', 'From', block.from),
      time('to', 'To (24:00 is midnight)', block.to),
      h('p', { class: 'field' }, h('label', { for: id('cap') }, 'Volume cap (% of full)'), cap),
      h('p', { class: 'choice' }, instrumentals, ' ', h('label', { for: id('instrumentals') }, 'Instrumentals play')),
      h('button', { type: 'button', class: 'quiet', onclick: () => row.remove() }, 'Remove block'));
    libraries.set(n, block.library);
    row.read = () => ({
      days: WEEKDAYS.map((_, i) => i + 1).filter((d) => row.querySelector(`#${id(`day-${d}`)}`).checked),
      from: row.querySelector(`#${id('from')}`).value.trim(),
      to: row.querySelector(`#${id('to')}`).value.trim(),
      volume_cap: Number(cap.value) / 100,
      instrumentals: instrumentals.checked,
      library: libraries.get(n),
    });
    rows.append(row);
  };

  const draw = async () => {
    const blocks = await api.read('player_schedule', (q) => q.eq('player_id', player.id).order('id'));
    rows.replaceChildren();
    libraries = new Map();
    blocks.forEach((block) => addRow(block));
    if (!blocks.length) rows.append(h('p', { class: 'empty' }, 'No time blocks: the player plays at full volume, instrumentals included, all week.'));
  };

  const add = h('button', { type: 'button', id: 'add-block', class: 'quiet' }, 'Add a time block');
  add.addEventListener('click', () => {
    rows.querySelector('.empty')?.remove();
    addRow();
  });
  const save = h('button', { type: 'button', id: 'save-schedule' }, 'Save schedule');
  save.addEventListener('click', async () => {
    const blocks = [...rows.querySelectorAll('.block')].map((row) => row.read());
    const done = await act(save, line, () => api.rpc('set_player_schedule', { player_id: player.id, blocks }),
      (r) => (r.blocks === 1 ? 'Saved: 1 time block.' : `Saved: ${r.blocks} time blocks.`));
    if (done) await draw();
  });

  const zones = h('datalist', { id: 'time-zones' }, ...Intl.supportedValuesOf('timeZone').map((zone) => h('option', { value: zone })));
  const zoneForm = form({ id: 'time-zone', class: 'inline' },
    [field('Time zone', { id: 'time-zone-name', name: 'time_zone', list: 'time-zones', required: true, value: player.time_zone ?? 'UTC' })],
    'Set', (values, _f, button) => act(button, line, () => api.rpc('set_player_time_zone', { player_id: player.id, time_zone: values.time_zone }),
      (r) => `The schedule is read in ${r.time_zone} time.`));

  load(line, draw);
  return section('Schedule',
    h('p', { class: 'hint' }, 'Time blocks cap the volume and may keep instrumentals out, on the days and hours you choose, in the room\u2019s time zone.'),
    zoneForm, zones, rows, h('p', { class: 'actions' }, add, save), line);
}

/** The link a QR code or NFC tag opens: this app, checking the listener in with the code. */
function checkInLink(code) {
  return `${location.origin}/?code=${encodeURIComponent(code)}`;
}

function qrFigure(player, code) {
  const qr = qrcode(0, 'M');
  qr.addData(checkInLink(code));
  qr.make();
  const figure = h('figure', { class: 'qr-card', 'data-code': code });
  const art = h('div', { class: 'qr' });
  // The library's own SVG markup: its one text, the description, it escapes as XML; the id
  // is the code's, so several cards on a page each name their own description.
  art.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true, alt: { text: `QR code for ${code}`, id: `qr-${code}` } });
  figure.append(art, h('figcaption', {}, h('strong', {}, player.name), h('br'), `Scan to check in, or enter ${code}`));
  return figure;
}

function codesPanel(player) {
  const line = messageLine();
  const list = h('div', { id: 'codes', class: 'codes' });
  const draw = async () => {
    const codes = await api.read('checkin_codes', (q) => q.eq('player_id', player.id).order('created_at'));
    list.replaceChildren(...(codes.length ? codes.map((c) => {
      const card = qrFigure(player, c.code);
      const print = h('button', { type: 'button', class: 'quiet' }, 'Print', h('span', { class: 'visually-hidden' }, ` ${c.code}`));
      print.addEventListener('click', () => {
        card.classList.add('printing');
        window.addEventListener('afterprint', () => card.classList.remove('printing'), { once: true });
        window.print();
      });
      const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke', h('span', { class: 'visually-hidden' }, ` ${c.code}`));
      revoke.addEventListener('click', async () => {
        if (await act(revoke, line, () => api.rpc('revoke_checkin_code', { code: c.code }), () => `Code ${c.code} no longer works.`)) await draw();
      });
      return h('div', { class: 'code' }, card,
        h('p', { class: 'code-text' }, h('code', {}, c.code), ' ', h('a', { href: checkInLink(c.code) }, 'Check-in link', h('span', { class: 'visually-hidden' }, ` for ${c.code}`))),
        h('p', { class: 'actions' }, print, revoke));
    }) : [h('p', {}, 'No codes yet: listeners can check in only if choosing the room is allowed.')]));
  };
  // Rooms take their code by default, so nobody checks in from elsewhere to sway the mix.
  const choosing = h('input', { type: 'checkbox', id: 'check-in-by-choice', checked: Boolean(player.check_in_by_choice) });
  choosing.addEventListener('change', async () => {
    const allowed = choosing.checked;
    const done = await act(choosing, line, () => api.rpc('set_check_in_by_choice', { player_id: player.id, allowed }),
      () => (allowed ? 'Listeners may also choose this room from the list.' : 'Listeners check in here with a code only.'));
    if (!done) choosing.checked = !allowed;
  });
  const choice = h('p', { class: 'choice' }, choosing, ' ', h('label', { for: 'check-in-by-choice' }, 'Listeners may also check in by choosing this room from the list'));
  const make = h('button', { type: 'button', id: 'new-code' }, 'New check-in code');
  make.addEventListener('click', async () => {
    if (await act(make, line, () => api.rpc('new_checkin_code', { player_id: player.id }), (c) => `New code ${c.code}: print its QR code for the room.`)) await draw();
  });
  load(line, draw);
  return section('Check-in codes', line, choice, make, list);
}

function keyPanel(player) {
  const line = messageLine();
  const state = h('p', { id: 'key-state' });
  const shown = h('div', { id: 'key-shown' });
  const issue = h('button', { type: 'button', id: 'issue-key' }, 'Issue key');
  const revoke = h('button', { type: 'button', id: 'revoke-key', class: 'danger' }, 'Revoke key');
  const draw = async () => {
    const [key] = await api.read('player_keys', (q) => q.eq('player_id', player.id));
    state.textContent = key ? `The device key was issued ${when(key.issued_at)}.` : 'This player has no device key.';
    issue.textContent = key ? 'Rotate key' : 'Issue key';
    revoke.hidden = !key;
  };
  issue.addEventListener('click', async () => {
    const made = await act(issue, line, () => api.gateway('POST', `/players/${player.id}/key`),
      () => 'Copy the key to the device now: it is shown only this once. Any earlier key stopped working.');
    if (!made) return;
    shown.replaceChildren(h('p', { class: 'field' }, h('label', { for: 'new-key' }, 'The new key (shown once)'),
      h('input', { id: 'new-key', readonly: true, value: made.key, class: 'secret' })));
    await draw();
  });
  revoke.addEventListener('click', async () => {
    if (await act(revoke, line, () => api.gateway('DELETE', `/players/${player.id}/key`), () => 'The key is revoked: the device stops within five minutes.')) {
      shown.replaceChildren();
      await draw();
    }
  });
  load(line, draw);
  return section('Device key', state, line, h('p', { class: 'actions' }, issue, revoke), shown);
}

function historyPanel(player) {
  const line = messageLine();
  const plays = h('ul', { id: 'play-history' });
  const failures = h('ul', { id: 'play-failures' });
  load(line, async () => {
    const [history, failed, songs] = await Promise.all([
      api.read('play_history', (q) => q.eq('player_id', player.id).order('played_at', { ascending: false }).limit(20)),
      api.read('play_failures', (q) => q.eq('player_id', player.id).order('failed_at', { ascending: false }).limit(20)),
      api.read('songs', (q) => q, 'id,title'),
    ]);
    const title = new Map(songs.map((s) => [s.id, s.title]));
    plays.replaceChildren(...(history.length
      ? history.map((p) => h('li', {}, `${title.get(p.song_id) ?? `song ${p.song_id}`}: ${when(p.played_at)}${p.ended_at ? ` to ${when(p.ended_at)}` : ', playing'}`))
      : [h('li', {}, 'Nothing played yet.')]));
    failures.replaceChildren(...(failed.length
      ? failed.map((f) => h('li', {}, `${title.get(f.song_id) ?? `song ${f.song_id}`}, ${when(f.failed_at)}: ${f.detail || 'no detail'}`))
      : [h('li', {}, 'No failures.')]));
  });
  return section('History', line, h('h3', {}, 'Latest plays'), plays, h('h3', {}, 'Media it could not play'), failures);
}

// --- catalogue (admins) ----------------------------------------------------------------------

// The model's calibrated weights are all under its threshold: the sound plays, but an admin
// should know it is none of rain, waves, thunder, wind or fire.
const NO_CLASS = 'fits none of the five classes';

export function catalogue(root) {
  const line = messageLine();
  // Focusable, so a keyboard can scroll the wide table sideways on a narrow screen.
  const table = h('div', { id: 'catalogue', tabindex: '0', role: 'region', 'aria-label': 'Sounds' });
  const draw = async () => {
    const songs = await api.read('songs', (q) => q.order('id'));
    table.replaceChildren(h('table', {},
      h('caption', {}, `${songs.length} sounds`),
      h('thead', {}, h('tr', {}, ...['Sound', 'Embedding', 'Loudness', 'Length'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...songs.map(songRow))));
  };
  const songRow = (song) => {
    const rowLine = messageLine();
    // Every row has the same three controls: each names its sound for a screen reader.
    const of = () => h('span', { class: 'visually-hidden' }, ` of ${song.title}`);
    const edit = form({ class: 'song-edit', 'data-song': song.id }, [
      field(['Title', of()], { id: `title-${song.id}`, name: 'title', value: song.title, required: true, maxlength: 200 }),
      choice(['Type', of()], { id: `type-${song.id}`, name: 'type' }, TYPES, song.type),
    ], ['Save', of()], (values, _f, button) => act(button, rowLine, () => api.rpc('update_song', { song_id: song.id, title: values.title, type: values.type }),
      (s) => `Saved: ${s.title}, ${s.type}.`));
    const embedding = parseVector(song.embedding);
    return h('tr', { 'data-song': song.id },
      h('td', {}, edit, rowLine),
      h('td', {}, embedding ? vectorBars(embedding, { caption: `embedding of ${song.title}` }) : 'not embedded yet',
        song.fits_no_class ? h('p', { class: 'no-class' }, NO_CLASS) : null),
      h('td', {}, song.loudness_gain_db === null ? '–' : `${song.loudness_gain_db.toFixed(1)} dB`),
      h('td', {}, song.duration_ms ? `${(song.duration_ms / 1000).toFixed(1)} s` : '–'));
  };

  const results = h('ul', { id: 'upload-results', class: 'uploads' });
  const uploadForm = form({ id: 'upload' }, [
    h('p', { class: 'field' }, h('label', { for: 'upload-files' }, 'Audio files (WAV, FLAC, MP3, Ogg)'),
      h('input', { id: 'upload-files', name: 'files', type: 'file', multiple: true, accept: 'audio/*', required: true })),
    choice('They are', { id: 'upload-type', name: 'type' }, TYPES, 'soundscape'),
  ], 'Upload', async (_values, element, button) => {
    const files = [...element.querySelector('#upload-files').files];
    const type = element.querySelector('#upload-type').value;
    button.disabled = true;
    // One at a time: the gateway analyses each file as it arrives, on the same cores.
    for (const file of files) await uploadOne(file, type, results);
    button.disabled = false;
    element.reset();
    await draw().catch((e) => line.show(sentence(e.message), 'error'));
  });

  load(line, draw);
  root.replaceChildren(h('h1', {}, 'Catalogue'), line,
    section('Upload sounds', h('p', { class: 'hint' }, 'Each file is checked, measured for loudness and embedded; its title is its file name, which you can correct below.'), uploadForm, results),
    section('Sounds', table));
}

async function uploadOne(file, type, results) {
  const title = file.name.replace(/\.[^.]+$/, '').slice(0, 200) || file.name;
  const bar = h('progress', { max: '1', value: '0', 'aria-label': `upload of ${file.name}` });
  const outcome = h('span', { class: 'outcome', role: 'status' }, 'uploading…');
  const item = h('li', { 'data-file': file.name }, h('span', { class: 'file' }, file.name), bar, outcome);
  results.append(item);
  try {
    const song = await api.upload(file, { title, type }, (fraction) => { bar.value = fraction; });
    bar.value = 1;
    item.classList.add('ok');
    outcome.textContent = `added as song ${song.id}, ${(song.duration_ms / 1000).toFixed(1)} s, loudness gain ${song.loudness_gain_db.toFixed(1)} dB${song.fits_no_class ? `; it ${NO_CLASS}` : ''}`;
  } catch (error) {
    item.classList.add('failed');
    outcome.setAttribute('role', 'alert');
    outcome.textContent = `refused: ${sentence(error.message)}`;
  }
}

// --- people (admins) -------------------------------------------------------------------------

export function people(root, context) {
  const line = messageLine();
  const list = h('div', { id: 'staff' });
  const draw = async () => {
    const staff = await api.readRpc('staff_members');
    list.replaceChildren(h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Staff roles'),
      h('thead', {}, h('tr', {}, ...['E-mail', 'Name', 'Role', 'Since', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...staff.map((s) => {
        const revoke = h('button', { type: 'button', class: 'danger', disabled: s.user_id === context.profile.id && s.role === 'admin' },
          'Revoke', h('span', { class: 'visually-hidden' }, ` ${s.role} of ${s.email}`));
        revoke.addEventListener('click', async () => {
          if (await act(revoke, line, () => api.rpc('revoke_role', { email: s.email, role: s.role }), () => `${s.email} is no longer ${s.role}.`)) await draw();
        });
        return h('tr', { 'data-email': s.email }, h('td', {}, s.email), h('td', {}, s.display_name ?? '–'), h('td', {}, s.role), h('td', {}, when(s.granted_at)), h('td', {}, revoke));
      }))));
  };
  const grant = form({ id: 'grant-role', class: 'inline' }, [
    field('E-mail address', { id: 'grant-email', name: 'email', type: 'email', required: true }),
    choice('Role', { id: 'grant-role-name', name: 'role' }, [['manager', 'manager'], ['admin', 'admin']], 'manager'),
  ], 'Grant', async (values, element, button) => {
    if (await act(button, line, () => api.rpc('grant_role', values), () => `${values.email} is now ${values.role}.`)) {
      element.reset();
      await draw();
    }
  });
  load(line, draw);
  root.replaceChildren(h('h1', {}, 'People'), line, section('Grant a role', grant), section('Staff', list));
}
