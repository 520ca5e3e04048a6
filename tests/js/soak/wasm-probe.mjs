// Records every WebAssembly instance created after this module is evaluated, so a test can
// read the size of the engine's linear memory (the wasm heap: the log, indexes, snapshots
// and projection states of the built-in domains). Import it BEFORE 'eventjournal':
//   import { wasmMemoryBytes } from './soak/wasm-probe.mjs';
//   import { Engine } from 'eventjournal';
// ES modules are evaluated in import order, and the Node build instantiates its module
// synchronously (new WebAssembly.Instance) when 'eventjournal' is first evaluated.
// (In a page, tests/js/soak/harness.js does the same for WebAssembly.instantiate*.)
const instances = [];
const Original = WebAssembly.Instance;
if (!Original.__ejProbe) {
  const Probe = new Proxy(Original, {
    construct(target, args, newTarget) {
      const instance = Reflect.construct(target, args, newTarget === Probe ? target : newTarget);
      instances.push(instance);
      return instance;
    },
  });
  Object.defineProperty(Probe, '__ejProbe', { value: instances });
  WebAssembly.Instance = Probe;
}
const seen = WebAssembly.Instance.__ejProbe;

/** Bytes of linear memory of every instance seen (0 if none was created after the import). */
export function wasmMemoryBytes() {
  let n = 0;
  for (const instance of seen) {
    const memory = instance.exports && instance.exports.memory;
    if (memory && memory.buffer) n += memory.buffer.byteLength;
  }
  return n;
}

/** Number of instances seen (1 once eventjournal is loaded). */
export function wasmInstances() {
  return seen.length;
}
