// Starting sync servers for the tests: in this process (an engine + createSyncServer), or as
// child processes (the package's CLI, scripts/serve.mjs), always on loopback and port 0.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, memoryStorage } from 'eventjournal';
import { createSyncServer } from 'eventjournal/server';

const require = createRequire(import.meta.url);

/** An engine (memory unless `storage` is given) and a sync server on it; `stop()` closes both. */
export async function startServer(options = {}, { storage, logs = [] } = {}) {
  const engine = await Engine.open({ storage: storage ?? (await memoryStorage()) });
  const server = await createSyncServer(engine, { log: (message, error) => logs.push({ message, error }), ...options });
  return {
    engine,
    server,
    base: server.url,
    logs,
    async stop() {
      await server.close();
      await engine.close();
    },
  };
}

/**
 * A memory storage whose next appends wait while `hold()` is on: `appended()` resolves when
 * one is waiting, `release()` lets them go.
 */
export async function gatedStorage() {
  const inner = await memoryStorage();
  let gate = null;
  let waiting = null;
  return {
    ...inner,
    async appendEvents(events, expected) {
      if (gate) {
        if (waiting) waiting();
        await gate.promise;
      }
      return inner.appendEvents(events, expected);
    },
    hold() {
      let release;
      const promise = new Promise((r) => { release = r; });
      gate = { promise, release };
      return new Promise((r) => { waiting = r; });
    },
    release() {
      const g = gate;
      gate = null;
      waiting = null;
      if (g) g.release();
    },
  };
}

/** A fresh temporary folder and its cleanup. */
export function tempDir(prefix = 'ej-server-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The installed package's `eventjournal-server` bin: `bin` (the file its package.json names)
 * and `linked` (node_modules/.bin/eventjournal-server of the project these tests run in).
 */
export function installedCli() {
  const pkgDir = dirname(require.resolve('eventjournal/package.json'));
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const here = dirname(fileURLToPath(import.meta.url));
  const linked = join(here, '..', '..', 'node_modules', '.bin', 'eventjournal-server');
  return { pkgDir, bin: join(pkgDir, pkg.bin['eventjournal-server']), linked };
}

/** The repository's root (tests run from target/js-consumer/tests, or from tests/js). */
export function repoRoot() {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [resolve(here, '../../../..'), resolve(here, '../../..')]) {
    if (existsSync(join(candidate, 'scripts', 'serve.mjs')) && existsSync(join(candidate, 'Cargo.toml'))) return candidate;
  }
  throw new Error(`cannot find the repository root from ${here}`);
}

/**
 * Spawns `command args` and waits for its first line matching http://...; resolves to
 * `{ child, url, output() }`; `stop(signal)` resolves to the exit code.
 */
export async function spawnServer(command, args, { timeoutMs = 15_000, env } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
    const check = () => {
      const m = /http:\/\/[^\s/]+/.exec(out);
      if (m) { clearTimeout(timer); resolveUrl(m[0]); }
    };
    child.stdout.on('data', check);
    exited.then((code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before printing an address:\n${out}\n${err}`)); });
  });
  return {
    child,
    url,
    exited,
    output: () => ({ out, err }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
