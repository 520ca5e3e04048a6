// Child processes of the JS tests (Node): a node script spawned with its stdout read line by
// line (the multi-process and crash tests' writers report on stdout, one line per fact).
//
//   const { child, done } = runChild(new URL('./sqlite/writer.mjs', import.meta.url), [file, 'p1', '200']);
//   const { code, signal, lines } = await done;
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Spawns `node script ...args` (a path or a file: URL). Resolves `done` to `{ code, signal,
 * lines }` once it exited and its stdout is drained; `onLine(line)` sees each complete stdout
 * line (a partial last line, cut by a kill, is not a line). stderr goes to ours; stdin is
 * ignored unless `stdin: 'pipe'` (then write to `child.stdin`).
 * @param {string | URL} script
 * @param {string[]} args
 * @param {{ onLine?: (line: string) => void, stdin?: 'ignore' | 'pipe', env?: Record<string, string> }} [options]
 */
export function runChild(script, args, { onLine, stdin = 'ignore', env } = {}) {
  const file = script instanceof URL ? fileURLToPath(script) : script;
  const child = spawn(process.execPath, [file, ...args], { stdio: [stdin, 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const lines = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      lines.push(line);
      if (onLine) onLine(line);
    }
  });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, lines }));
  });
  return { child, done };
}
