// Throwaway PostgreSQL clusters for tests: a real server in a temporary folder, on a free
// loopback port, gone when the test process exits (even when a test fails).
//
//   import { startPostgres } from './support/postgres.mjs';
//   const pg = await startPostgres({ fsync: false });
//   ... new pg.Pool({ connectionString: pg.connectionString }) ...
//   await pg.restart({ downMs: 500 });   // stop (immediate: like a crash), wait, start again
//   await pg.kill(); await pg.start();  // SIGKILL every server process, then crash recovery
//   await pg.stop();                    // stop and remove the folder
//
// initdb and postgres refuse to run as root: as root, every command runs as the unprivileged
// `postgres` user (`runuser -u postgres --`) in a mode-777 folder. The binaries come from
// /usr/lib/postgresql/<newest>/bin, else PATH (scripts/setup.sh installs Debian's postgresql).
// fsync stays ON unless `{ fsync: false }` (then also synchronous_commit and full_page_writes
// off): tests of durability keep the default.
// A process killed with SIGKILL cannot clean up: the next startPostgres() stops and removes
// the clusters of test processes that no longer exist.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const PREFIX = 'ej-pg-';
const live = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The folder holding initdb, pg_ctl and postgres (the newest Debian one, else from PATH). */
export function postgresBinDir() {
  const has = (dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian)
    ? readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (has(join(debian, v, 'bin'))) return join(debian, v, 'bin');
  for (const dir of (process.env.PATH || '').split(delimiter)) if (dir && has(dir)) return dir;
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: run scripts/setup.sh');
}

/** [command, args] running `bin/name args` as the postgres user when we are root. */
function command(bin, name, args) {
  const exe = join(bin, name);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
}

function run(bin, name, args, { timeout = 60_000 } = {}) {
  const [cmd, argv] = command(bin, name, args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(new Error(`${name} failed: ${stderr || error.message}`), { cause: error }));
      else resolve(stdout);
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const alive = (pid) => {
  try { process.kill(pid, 0); } catch (e) { return e.code === 'EPERM'; }
  try { // a zombie (dead, not yet reaped by its parent) is dead
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return true; }
};

/** Stops the clusters of test processes that died without cleaning up (SIGKILL, OOM). */
function sweepOrphans(bin) {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner;
    try { owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8')); } catch { continue; }
    if (!Number.isSafeInteger(owner) || alive(owner)) continue;
    stopNow(bin, dir);
  }
}

function stopNow(bin, dir) {
  const data = join(dir, 'data');
  if (existsSync(join(data, 'postmaster.pid'))) {
    const [cmd, argv] = command(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    try { execFileSync(cmd, argv, { stdio: 'ignore', timeout: 30_000 }); } catch { /* not running */ }
  }
  rmSync(dir, { recursive: true, force: true });
}

function cleanupAll() {
  for (const cluster of [...live]) cluster.stopSync();
}
process.once('exit', cleanupAll);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => { cleanupAll(); process.exit(code); });
}

/** The pids of `pid`'s children (Linux /proc). */
function childrenOf(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Creates and starts a cluster. Options: `fsync` (default true), `settings` (extra `-c`
 * settings, e.g. `{ max_connections: 50 }`).
 * @returns {Promise<{ connectionString: string, port: number, dir: string, bin: string,
 *   start(): Promise<void>, stopServer(): Promise<void>, restart(o?: { downMs?: number }): Promise<void>,
 *   kill(): Promise<void>, stop(): Promise<void>, stopSync(): void, readonly running: boolean }>}
 */
export async function startPostgres({ fsync = true, settings = {} } = {}) {
  const bin = postgresBinDir();
  sweepOrphans(bin);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const data = join(dir, 'data');
  let port = 0;
  let running = false;
  const all = {
    listen_addresses: '127.0.0.1',
    max_connections: 300,
    ...(fsync ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...settings,
  };
  const serverOptions = () => [`-p ${port}`, `-k ${dir}`, ...Object.entries(all).map(([k, v]) => `-c ${k}=${v}`)].join(' ');

  const cluster = {
    dir,
    bin,
    get port() { return port; },
    get connectionString() { return `postgresql://postgres@127.0.0.1:${port}/postgres`; },
    get running() { return running; },
    /** Starts the server (again), on the same port. */
    async start() {
      await run(bin, 'pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', serverOptions(), 'start']);
      running = true;
    },
    /** Stops the server at once (`-m immediate`: no checkpoint, like a crash); keeps the data. */
    async stopServer() {
      if (!running) return;
      running = false;
      await run(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    async restart({ downMs = 0 } = {}) {
      await cluster.stopServer();
      if (downMs > 0) await sleep(downMs);
      await cluster.start();
    },
    /** SIGKILLs the postmaster and every backend: a crash; start() then runs crash recovery. */
    async kill() {
      const pidFile = join(data, 'postmaster.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      running = false;
      process.kill(pid, 'SIGSTOP'); // no new backend may be forked while we collect them
      const pids = [...childrenOf(pid), pid];
      for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      while (pids.some(alive)) await sleep(10);
      // A dead postmaster whose parent has not reaped it yet still answers kill(pid, 0), and
      // postgres would take its lock files for a running server: remove the stale locks.
      try {
        process.kill(pid, 0);
        for (const f of [pidFile, join(dir, `.s.PGSQL.${port}.lock`)]) rmSync(f, { force: true });
      } catch { /* reaped */ }
    },
    /** Stops the server and removes the folder (idempotent). */
    async stop() {
      cluster.stopSync();
    },
    stopSync() {
      if (!live.has(cluster)) return;
      live.delete(cluster);
      running = false;
      stopNow(bin, dir);
    },
  };
  live.add(cluster);
  try {
    await run(bin, 'initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await cluster.start();
        break;
      } catch (e) {
        const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
        if (attempt >= 3 || !/could not (bind|create listen)/i.test(log)) throw new Error(`${e.message}\n${log.slice(-2000)}`);
      }
    }
  } catch (e) {
    cluster.stopSync();
    throw e;
  }
  return cluster;
}
