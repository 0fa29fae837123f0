// The listener's pages: check in and what plays now (with one-tap ratings that show the taste
// move), my taste as the survey's five sliders, and my stats with the month's leaderboard.

import * as api from './api.js';
import { h, act, messageLine, section, form, field, vectorBars, fill, parseVector, when, every, load, refresh, sentence, AXES, AXIS_KEYS } from './ui.js';

/** How often the room's queue version is polled while a listener is checked in. */
const QUEUE_POLL_MS = 3000;
/** How often the room list refreshes (who is online) while not checked in. */
const ROOMS_POLL_MS = 15000;

const RATINGS = [
  [1, 'Not for me'],
  [2, 'Rather not'],
  [3, 'It is fine'],
  [4, 'I like it'],
  [5, 'Love it'],
];

// --- now playing -----------------------------------------------------------------------------

export function now(root, context) {
  let stop = () => {};
  let live = true;
  let turn = 0;
  const line = messageLine();
  if (context.news) line.show(context.news.text, context.news.kind);

  // Draws whichever page fits (rooms, or the room checked in at). Only the latest draw of a
  // live section keeps its poll: one that lost the race, or outlived the section, stops it.
  async function draw() {
    const mine = ++turn;
    stop();
    stop = () => {};
    const me = await context.reloadProfile();
    const body = me.checked_in_at ? await room(me.checked_in_at, line, draw) : await rooms(line, draw);
    if (!live || mine !== turn) {
      body.stop();
      return;
    }
    root.replaceChildren(line, body.element);
    stop = body.stop;
  }

  root.replaceChildren(line);
  load(line, draw);
  return () => {
    live = false;
    stop();
  };
}

/** Not checked in: a code box and the list of rooms. */
async function rooms(line, redraw) {
  const checkIn = async (args, control) => {
    const done = await act(control, line, () => api.rpc('check_in', args), (s) => `You are checked in at ${s.player_name}.`);
    if (done) {
      const news = line.textContent;
      await redraw().then(() => line.show(news, 'ok'), (error) => line.show(sentence(error.message), 'error'));
    }
  };
  const list = h('ul', { class: 'rooms', id: 'rooms' });
  const fillList = async () => {
    const players = await api.read('players', (q) => q.order('name'), 'id,name,online,last_seen_at,check_in_by_choice');
    // A room whose manager has not allowed choosing it takes its code only.
    refresh(list, ...players.map((player) => h('li', {},
      h('span', { class: 'room-name' }, player.name),
      h('span', { class: `badge ${player.online ? 'on' : 'off'}` }, player.online ? 'playing' : 'offline'),
      player.check_in_by_choice
        ? h('button', { type: 'button', 'data-player': player.id, 'data-key': `room-${player.id}`, onclick: (event) => checkIn({ player_id: player.id }, event.currentTarget) },
          h('span', {}, 'Check in'), h('span', { class: 'visually-hidden' }, ` at ${player.name}`))
        : h('span', { class: 'code-only' }, 'check in with the code in the room'))));
    if (!players.length) list.append(h('li', {}, 'No rooms yet.'));
  };
  await fillList();
  const codeForm = form({ id: 'code-form', class: 'inline' },
    [field('Check-in code (on the room\'s QR code or tag)', { id: 'checkin-code', name: 'code', required: true, autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' })],
    'Check in', (values, _f, button) => checkIn({ code: values.code }, button));
  const element = h('div', {},
    h('h1', {}, 'Check in'),
    h('p', { class: 'lead' }, 'Scan the code in the room, type it here, or choose the room.'),
    codeForm,
    section('Rooms', list));
  return { element, stop: every(ROOMS_POLL_MS, fillList) };
}

/** Checked in: what plays, one-tap ratings, the taste they move, and check-out. */
async function room(playerId, line, redraw) {
  const [player] = await api.read('players', (q) => q.eq('id', playerId), 'id,name,online');
  // Not a live region: a mix that changes every few minutes would talk over the page.
  const playing = h('div', { id: 'playing' });
  const rateBox = h('div', { id: 'rate' });
  const tasteBox = h('div', { id: 'taste-move' });
  const share = h('p', { id: 'my-share', class: 'hint' });
  const rateLine = messageLine();
  let version = null;

  const drawQueue = async () => {
    const [queue, [mine]] = await Promise.all([
      api.read('player_queue', (q) => q.eq('player_id', playerId).order('slot')),
      api.read('my_share', (q) => q),
    ]);
    drawShare(share, mine);
    if (!queue.length) {
      // The check-in may have run out: the queue is visible only while it lasts.
      const me = await api.read('my_profile', (q) => q, 'checked_in_at');
      if (me[0]?.checked_in_at !== playerId) {
        await redraw();
        line.show('Your check-in has ended. Check in again to rate what plays.', 'ok');
        return;
      }
    }
    const next = queue[0]?.version ?? null;
    if (next === version && playing.childElementCount) return;
    version = next;
    drawPlaying(playing, rateBox, queue, rateLine, tasteBox);
  };
  await drawQueue();

  const leave = h('button', { type: 'button', id: 'check-out', class: 'quiet' }, 'Check out');
  leave.addEventListener('click', async () => {
    if (await act(leave, line, () => api.rpc('check_out'))) {
      await redraw().then(() => line.show(`You have checked out of ${player?.name ?? 'the room'}.`, 'ok'),
        (error) => line.show(sentence(error.message), 'error'));
    }
  });

  const element = h('div', {},
    h('h1', { id: 'room-name' }, player?.name ?? `Player ${playerId}`),
    h('p', { class: 'lead' }, 'The mix follows everyone checked in here. Rate it, and it learns what you like.'),
    section('Playing now', playing, share),
    section('Rate it', rateBox, rateLine, tasteBox),
    leave);
  return { element, stop: every(QUEUE_POLL_MS, drawQueue) };
}

/** How close the mix is to the listener's own taste (the refresh's `group::fit`, -1 to 1). */
function drawShare(element, mine) {
  if (mine?.fit == null) {
    element.replaceChildren();
    return;
  }
  const percent = Math.round(Math.max(0, mine.fit) * 100);
  const others = mine.listeners > 1 ? ` It is mixed for the ${mine.listeners} listeners here.` : '';
  element.replaceChildren(`How close this mix is to your taste: `, h('strong', {}, `${percent} %`), `.${others}`);
}

function drawPlaying(playing, rateBox, queue, line, tasteBox) {
  const layers = queue.filter((item) => item.role === 'layer');
  const instrumental = queue.find((item) => item.role === 'instrumental');
  const loudest = [...layers].sort((a, b) => b.gain - a.gain || a.slot - b.slot)[0];
  const loudestGain = loudest?.gain || 1;
  if (!queue.length) {
    playing.replaceChildren(h('p', {}, 'Nothing plays here yet: the mix starts in a moment.'));
    rateBox.replaceChildren();
    return;
  }
  playing.replaceChildren(
    h('ul', { class: 'queue', 'data-version': queue[0].version },
      ...layers.map((item) => h('li', { class: 'layer' },
        h('span', { class: 'title' }, item.title),
        h('span', { class: 'track', role: 'img', 'aria-label': `volume ${Math.round((item.gain / loudestGain) * 100)} % of the loudest` },
          fill(Math.max(0.02, item.gain / loudestGain), 'fill')))),
      instrumental ? h('li', { class: 'instrumental' }, h('span', { class: 'title' }, `Next instrumental: ${instrumental.title}`)) : null));
  if (!loudest) {
    rateBox.replaceChildren();
    return;
  }
  refresh(rateBox,
    h('p', {}, 'How do you like ', h('strong', { id: 'rated-title' }, loudest.title), ', the loudest sound now?'),
    h('div', { class: 'rating', role: 'group', 'aria-label': `Rate ${loudest.title}` },
      ...RATINGS.map(([value, meaning]) => {
        const button = h('button', { type: 'button', 'data-rating': value, 'data-key': `rate-${value}`, 'aria-label': `${value} of 5: ${meaning}` },
          h('span', { class: 'stars' }, String(value)), h('span', { class: 'meaning' }, meaning));
        button.addEventListener('click', () => rate(button, value, loudest, line, tasteBox));
        return button;
      })));
}

async function rate(button, value, song, line, tasteBox) {
  const [before] = await api.read('my_profile', (q) => q, 'preference').catch(() => [null]);
  const vote = await act(button, line, () => api.rpc('rate', { rating: value, song_id: song.song_id }),
    (v) => `You rated ${v.title} ${v.rating} of 5. Your taste moved:`);
  if (!vote) return;
  const after = parseVector(vote.preference);
  const previous = parseVector(before?.preference);
  tasteBox.replaceChildren(vectorBars(after, { before: previous, caption: 'your taste, before and after this rating' }));
}

// --- my taste --------------------------------------------------------------------------------

export function taste(root) {
  const line = messageLine();
  root.replaceChildren(h('h1', {}, 'My taste'), line);
  // Read afresh: a rating since the app started has moved the taste.
  load(line, async () => {
    const [me] = await api.read('my_profile', (q) => q, 'preference,display_name');
    drawTaste(root, line, me);
  });
}

function drawTaste(root, line, me) {
  const preference = parseVector(me.preference);
  const values = preference ?? AXES.map(() => 0.5);
  const sliders = AXES.map((axis, i) => {
    const id = `taste-${AXIS_KEYS[i]}`;
    const output = h('output', { for: id, id: `${id}-value` }, values[i].toFixed(2));
    const input = h('input', { id, name: AXIS_KEYS[i], type: 'range', min: '0', max: '1', step: '0.01', value: values[i].toFixed(2) });
    input.addEventListener('input', () => { output.textContent = Number(input.value).toFixed(2); });
    return h('p', { class: 'slider' }, h('label', { for: id }, `How much ${axis}?`), input, output);
  });
  const survey = form({ id: 'survey' }, sliders, 'Save my taste', async (entries, _f, button) => {
    const args = Object.fromEntries(AXIS_KEYS.map((key) => [key, Number(entries[key])]));
    await act(button, line, () => api.rpc('survey', args), () => 'Your taste is saved; the rooms you are in follow it.');
  });
  const nameLine = messageLine();
  const naming = form({ id: 'display-name-form', class: 'inline' },
    [field('Name on the leaderboard (empty: anonymous)', { id: 'display-name', name: 'display_name', maxlength: 40, value: me.display_name ?? '' })],
    'Save name', (entries, _f, button) => act(button, nameLine, () => api.rpc('set_display_name', entries),
      (r) => (r.display_name ? `The leaderboard shows you as ${r.display_name}.` : 'The leaderboard shows you as an anonymous listener.')));
  root.replaceChildren(
    h('h1', {}, 'My taste'),
    h('p', { class: 'lead' }, preference
      ? 'Your ratings move these five numbers; you may also set them yourself.'
      : 'You have no taste yet: set it here, or rate what plays in a room.'),
    line, survey,
    section('My name', nameLine, naming));
}

// --- stats and leaderboard -------------------------------------------------------------------

export function stats(root) {
  const line = messageLine();
  const numbers = h('dl', { class: 'numbers', id: 'my-stats' });
  // Focusable, so a keyboard can scroll the table sideways on a narrow screen.
  const board = h('div', { id: 'leaderboard', tabindex: '0', role: 'region', 'aria-label': 'Leaderboard' });
  const recent = h('ul', { class: 'recent', id: 'my-votes' });
  const today = new Date();
  const thisMonth = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}`;
  const month = h('input', { id: 'month', type: 'month', value: thisMonth });

  // Months picked in quick succession: only the last one's answer is drawn.
  let asked = 0;
  const drawBoard = async () => {
    const mine = ++asked;
    const rows = await api.rpc('leaderboard', { month: `${month.value}-01` });
    if (mine !== asked) return;
    board.replaceChildren(rows.length
      ? h('table', {}, h('caption', { class: 'visually-hidden' }, 'Top listeners by ratings'),
        h('thead', {}, h('tr', {}, ...['Rank', 'Listener', 'Ratings', 'Liked', 'Disliked'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows.map((r) => h('tr', { class: r.is_me ? 'me' : false },
          h('td', {}, String(r.rank)), h('td', {}, r.is_me ? `${r.display_name} (you)` : r.display_name),
          h('td', {}, String(r.ratings)), h('td', {}, String(r.positive)), h('td', {}, String(r.negative))))))
      : h('p', {}, 'No ratings this month yet.'));
  };
  month.addEventListener('change', () => drawBoard().catch((e) => line.show(sentence(e.message), 'error')));

  const loadStats = async () => {
    const [mine] = await api.read('my_stats');
    const labels = [
      ['ratings', 'Ratings'], ['ratings_this_month', 'This month'], ['positive', 'Liked (4–5)'],
      ['negative', 'Disliked (1–2)'], ['mean_rating', 'Mean rating'], ['check_ins', 'Check-ins'],
      ['minutes_listened', 'Minutes listened'],
    ];
    numbers.replaceChildren(...labels.flatMap(([key, label]) => [h('dt', {}, label), h('dd', { 'data-stat': key }, String(mine?.[key] ?? '–'))]));
    const votes = await api.read('my_votes', (q) => q.order('created_at', { ascending: false }).limit(10));
    recent.replaceChildren(...(votes.length
      ? votes.map((v) => h('li', {}, `${v.title}: ${v.rating} of 5, ${when(v.created_at)}`))
      : [h('li', {}, 'No ratings yet.')]));
    await drawBoard();
  };
  root.replaceChildren(
    h('h1', {}, 'My stats'), line, numbers,
    section('Leaderboard', h('p', { class: 'field' }, h('label', { for: 'month' }, 'Month'), month), board),
    section('My latest ratings', recent));
  load(line, loadStats);
}
