// The page side of tests/js/soak.browser.mjs, loaded as window.S: the workload of
// /tests/soak/workload.mjs on indexedDbStorage (wrapped to inject append faults).
//
// WebAssembly.instantiate* are wrapped BEFORE the package is imported, so the size of the
// engine's linear memory can be read (S.wasmBytes). Memory samples come from the test
// (window.ejMeasure: CDP HeapProfiler.collectGarbage + Runtime.getHeapUsage).
const instances = [];
for (const name of ['instantiate', 'instantiateStreaming']) {
  const original = WebAssembly[name];
  if (typeof original !== 'function') continue;
  WebAssembly[name] = async function (...args) {
    const result = await original.apply(this, args);
    instances.push(result instanceof WebAssembly.Instance ? result : result.instance);
    return result;
  };
}
const { Engine, indexedDbStorage } = await import('/node_modules/eventjournal/index.js');
const W = await import('/tests/soak/workload.mjs');

const S = { failures: [] };
S.wasmBytes = () => instances.reduce((n, i) => n + (i && i.exports.memory ? i.exports.memory.buffer.byteLength : 0), 0);

/** A memory sample: the test collects garbage and reads the JS heap; the page adds the rest. */
S.measure = async () => {
  const m = await window.ejMeasure();
  const pm = performance.memory || {};
  return { ...m, wasm: S.wasmBytes(), usedJSHeapSize: pm.usedJSHeapSize ?? null, totalJSHeapSize: pm.totalJSHeapSize ?? null };
};

const JS_PROJECTIONS = (defined, mapProjection) => {
  const p = { soak_totals: W.totalsProjection, soak_inventory: W.inventoryProjection };
  if (mapProjection) p.soak_account_activity = W.activityProjection;
  for (const name of defined) p[name] = W.totalsProjection;
  return p;
};

/** Opens the engine on IndexedDB `db` with faults, and sets the soak up. */
S.start = async ({ db, durability, commands, leakOps, seed, faultRate, mapProjection }) => {
  const storage = await indexedDbStorage(db, { durability });
  S.faults = W.faultyStorage(storage, { rate: faultRate, random: W.prng(seed ^ 0x5eed) });
  S.engine = await Engine.open({ storage: S.faults });
  S.soak = new W.Soak(S.engine, { commands, leakOps, random: W.prng(seed), faults: S.faults, failures: S.failures, mapProjection });
  S.soak.setup();
  return true;
};

S.progress = () => ({
  commands: S.soak.c.commands, events: S.soak.totals.events, failures: S.failures.length,
  counters: { ...S.soak.c }, faults: { ...S.faults.stats },
});

S.round = async (n) => {
  await S.soak.runRound(n);
  return S.progress();
};

S.leak = async (n) => W.leakPhase(S.soak, { n, measure: S.measure });

/** What a fresh engine must reproduce: stats, projections, every stream's load(). */
async function summary(engine, streams, defined, mapProjection) {
  const projections = {};
  for (const name of ['account_balance', 'order_status', ...Object.keys(JS_PROJECTIONS(defined, mapProjection))]) {
    projections[name] = JSON.stringify(await engine.projection(name));
  }
  const loads = [];
  for (const [id, type] of streams) loads.push(JSON.stringify(await engine.load(type, id)));
  return { stats: await engine.stats(), verify: await engine.verify(), projections, loads };
}

/** The end-of-run checks on the running engine; returns its summary for the comparison. */
S.final = async () => {
  const soak = S.soak;
  const engine = S.engine;
  await new Promise((r) => setTimeout(r, 0));
  await soak.checkTotals('end');
  await soak.checkStreams();
  const state = { next: 1, run: null, streams: new Map() };
  const fail = (m) => soak.fail(m);
  for (let from = 0; ;) {
    const page = await engine.readAll({ fromPosition: from, limit: 5000 });
    if (page.length === 0) break;
    W.checkLogPage(soak, page, state, fail);
    from = page[page.length - 1].position;
  }
  const logCheck = W.finishLog(soak, state, fail);
  const streams = [...state.streams];
  const s = await summary(engine, streams, soak.definedProjections, soak.o.mapProjection);
  return { ...s, streams, logCheck, next: state.next, defined: soak.definedProjections, mapProjection: soak.o.mapProjection, failures: S.failures, counters: { ...soak.c }, faults: { ...S.faults.stats } };
};

/** After a reload: a fresh engine on the same database (no faults), its summary. */
S.reopen = async ({ db, durability, streams, defined, mapProjection }) => {
  const engine = await Engine.open({ storage: await indexedDbStorage(db, { durability }) });
  engine.defineAggregate('Inventory', W.inventoryAggregate);
  for (const [name, def] of Object.entries(JS_PROJECTIONS(defined, mapProjection))) engine.defineProjection(name, def());
  const s = await summary(engine, streams, defined, mapProjection);
  await engine.close();
  return s;
};

window.S = S;
