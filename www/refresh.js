// The render loop. Each section registers how it renders (`defineSection`) and which store
// keys it shows (a change of one re-renders it at once). New events re-render everything,
// throttled: at most every 60 ms, less often when a render is slow (a large log streaming in
// from another tab) or while this tab generates sample data. 'stats' renders first in a round
// (the others use the stats it publishes); the rest render in parallel; rounds never overlap.
import { store } from './store.js';
import { isStale } from './guard.js';

const sections = new Map();
let pending = new Set();
let waiters = [];
let running = false;
let started = false;
let timer = null;
let timerNames = new Set();
let lastRoundMs = 0;

/** Registers a section: `render()` is async; `deps`: store keys whose change re-renders it. */
export function defineSection(name, render, { deps = [] } = {}) {
  sections.set(name, render);
  if (deps.length) store.subscribe(deps, () => refresh([name]));
}

/** Renders the named sections (default: all) as soon as the loop is free; resolves once they have. */
export function refresh(names = [...sections.keys()]) {
  for (const n of names) pending.add(n);
  const done = new Promise((resolve) => waiters.push(resolve));
  // Start after the current task's other store changes (one user action often makes several).
  if (!started) { started = true; queueMicrotask(loop); }
  return done;
}

/** Renders everything soon: the way new events reach the page. */
export function scheduleRefresh(names = [...sections.keys()], delay = store.state.sample.running ? 400 : Math.min(500, Math.max(60, lastRoundMs * 3))) {
  for (const n of names) timerNames.add(n);
  if (timer) return;
  timer = setTimeout(() => {
    const due = [...timerNames];
    timer = null;
    timerNames = new Set();
    refresh(due);
  }, delay);
}

async function loop() {
  started = false;
  if (running) return;
  running = true;
  try {
    while (pending.size) {
      const names = pending;
      const resolved = waiters;
      pending = new Set();
      waiters = [];
      const t0 = performance.now();
      if (names.has('stats')) await renderOne('stats');
      await Promise.all([...names].filter((n) => n !== 'stats').map(renderOne));
      if (names.size === sections.size) lastRoundMs = performance.now() - t0;
      for (const resolve of resolved) resolve();
    }
  } finally {
    running = false;
  }
}

async function renderOne(name) {
  if (!store.state.engine) return;
  try {
    await sections.get(name)();
  } catch (err) {
    if (!isStale(err) && err.code !== 'CLOSED') console.error(`render ${name}`, err);
  }
}
