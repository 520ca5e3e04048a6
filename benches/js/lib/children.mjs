// The child processes the server and sync scenarios start: the package's CLI server, and
// scripts that print their result as a JSON line last (`{ ok: true, ... }` or `{ ok: false, error }`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Starts the package's CLI (`eventjournal-server`) with `args`; resolves `{ url, stop() }`. */
export async function startServer(args, extraFlags = []) {
  const pkgDir = dirname(require.resolve('eventjournal/package.json'));
  const bin = join(pkgDir, JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).bin['eventjournal-server']);
  const child = spawn(process.execPath, [...extraFlags, bin, ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /http:\/\/[^\s/]+/.exec(out);
      if (m) resolve(m[0]);
    });
    exited.then((code) => reject(new Error(`eventjournal-server exited (${code}) before listening: ${out}`)));
  });
  return { url, async stop() { child.kill('SIGTERM'); await exited; } };
}

/** Runs `node script ...args`; resolves the JSON object of its last line when it says `ok`. */
export function runJson(script, args, label) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', () => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        if (r.ok) resolve(r); else reject(new Error(`${label}: ${r.error}`));
      } catch {
        reject(new Error(`${label} died: ${err || out}`));
      }
    });
  });
}
