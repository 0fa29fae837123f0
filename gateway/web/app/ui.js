// Small DOM helpers shared by the listener's pages and the staff console. Text always goes in
// as text (never as HTML), so nothing a user or the API wrote can run in the page.

import { whenBack } from './api.js';

/** The five sound classes of every taste and embedding, in the vector's order. */
export const AXES = ['rain', 'sea waves', 'thunderstorm', 'wind', 'crackling fire'];
/** The survey's argument names, in the same order. */
export const AXIS_KEYS = ['rain', 'sea_waves', 'thunderstorm', 'wind', 'crackling_fire'];

/**
 * An element: `h('button', { class: 'big', onclick: go }, 'Go')`. Props starting with `on`
 * are listeners, `text` sets the text, anything else an attribute (false/null leave it out).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** A message line: `role=status` for news, `role=alert` for errors, read out when it changes. */
export function messageLine() {
  const line = h('p', { class: 'message', role: 'status', 'aria-live': 'polite' });
  line.show = (text, kind = 'ok') => {
    line.textContent = text;
    line.className = `message ${kind}`;
    line.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  };
  line.clear = () => line.show('', 'ok');
  return line;
}

/**
 * Runs `work` for a button or form: disabled meanwhile, its error shown in `line` in the API's
 * words, `done(result)` (a text) shown when it succeeds.
 */
export async function act(control, line, work, done) {
  control.disabled = true;
  control.setAttribute('aria-busy', 'true');
  line.show('Working…', 'ok');
  try {
    const result = await work();
    line.show(done ? done(result) : '', 'ok');
    return result;
  } catch (error) {
    line.show(sentence(error.message), 'error');
    return undefined;
  } finally {
    control.disabled = false;
    control.removeAttribute('aria-busy');
  }
}

/** The API's messages are lower-case clauses; on the page they read as sentences. */
export function sentence(text) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return 'Something went wrong, with no message from the API.';
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** A form that calls `submit(values, form)` with its named fields; Enter submits it. */
export function form(props, fields, submitLabel, submit) {
  const button = h('button', { type: 'submit' }, submitLabel);
  const element = h('form', props, ...fields, button);
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(Object.fromEntries(new FormData(element)), element, button);
  });
  return element;
}

/** A labelled input; `id` ties the label to it. */
export function field(label, props) {
  return h('p', { class: 'field' }, h('label', { for: props.id }, label), h('input', props));
}

/** A labelled choice among `options` ([value, label] pairs). */
export function choice(label, props, options, selected) {
  const select = h('select', props, ...options.map(([value, text]) => h('option', { value, selected: value === selected }, text)));
  return h('p', { class: 'field' }, h('label', { for: props.id }, label), select);
}

/** Five labelled bars for a taste or an embedding (values in [0, 1]); `before` shows a move. */
export function vectorBars(values, { before = null, caption = '' } = {}) {
  const list = h('ul', { class: 'bars', 'aria-label': caption || 'five sound classes' });
  AXES.forEach((axis, i) => {
    const value = values[i];
    const moved = before ? value - before[i] : 0;
    const change = before && Math.abs(moved) >= 0.0005 ? ` (${moved > 0 ? '+' : '−'}${Math.abs(moved).toFixed(3)})` : '';
    list.append(h('li', {},
      h('span', { class: 'axis' }, axis),
      h('span', { class: 'track', 'aria-hidden': 'true' },
        before ? fill(before[i], 'fill before') : null,
        fill(value, 'fill')),
      h('span', { class: 'value' }, `${value.toFixed(2)}${change}`)));
  });
  return list;
}

/** A bar's filled part; its width is set through the CSSOM, which the page's policy allows. */
export function fill(fraction, className) {
  const part = h('span', { class: className });
  part.style.width = `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(1)}%`;
  return part;
}

/** pgvector's text form, `[0.1,0.2,…]`, as PostgREST returns a vector. */
export function parseVector(text) {
  if (!text) return null;
  return String(text).replace(/[[\]]/g, '').split(',').map(Number);
}

export function when(timestamp) {
  if (!timestamp) return 'never';
  return new Date(timestamp).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A section with a heading, for the pages' regions. */
export function section(title, ...children) {
  const id = `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/**
 * Repeats `work` every `ms` until `stop()`; a failing call does not stop it, so a page
 * recovers by itself when the API returns.
 */
export function every(ms, work) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try {
      await work();
    } catch {
      // The connection banner already says why; the next tick tries again.
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Loads a part of a page: a failure is shown in `line`, and a lost connection loads it again
 * once the API is back (while `line` is still on the page), so nothing stays half-drawn.
 */
export function load(line, work) {
  const attempt = async () => {
    try {
      await work();
      if (line.dataset.failed) {
        delete line.dataset.failed;
        line.clear();
      }
    } catch (error) {
      line.show(sentence(error.message), 'error');
      line.dataset.failed = 'true';
      if (error.unreachable) whenBack(() => line.isConnected && attempt());
    }
  };
  attempt();
}

/**
 * Replaces what `container` shows; keyboard focus stays on the control with the same
 * `data-key`, so a periodic redraw never throws a keyboard user back to the page's top.
 */
export function refresh(container, ...children) {
  const focused = container.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  container.replaceChildren(...children);
  if (focused) container.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}
