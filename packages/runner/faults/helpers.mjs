// Shared pieces of the fault suite: workspaces over the runner's fixture stages, the lenna CLI as a
// process, and the checks every case ends with (no orphan process, no litter, a parseable lock file).
import { execFileSync } from 'node:child_process';
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { tagLiveness } from '@lenna/core';
import { processesMentioning } from '../test/support/processes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const runnerRoot = resolve(here, '..');
export const repoRoot = resolve(runnerRoot, '../..');
export const lennaBin = join(runnerRoot, 'bin/lenna.js');
export const fixtures = join(runnerRoot, 'test/fixtures');
const watchdogEntry = join(runnerRoot, 'dist/watchdog.js');

const created = [];

/** A temp folder with the fixture stages and pipelines, node_modules linked, its own store and timing lock. */
export async function workspace(label, options = {}) {
  const dir = await mkdtemp(join(tmpdir(), `lenna-faults-${label}-`));
  created.push(dir);
  await cp(fixtures, dir, { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const store = options.store ?? join(dir, 'store');
  const env = { LENNA_STORE: store, LENNA_TIMING_LOCK: join(dir, 'timing.lock'), LENNA_DIGEST_CACHE: join(dir, 'digests.json') };
  return {
    dir,
    store,
    env,
    /** `lenna <args>` to its end: { code, stdout, stderr }. */
    async lenna(args, extraEnv = {}) {
      const r = await execa(process.execPath, [lennaBin, ...args], { cwd: dir, env: { ...env, ...extraEnv }, reject: false });
      return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    spawn(args, extraEnv = {}) {
      return execa(process.execPath, [lennaBin, ...args], { cwd: dir, env: { ...env, ...extraEnv }, reject: false });
    },
  };
}

export async function removeWorkspaces() {
  for (const dir of created.splice(0)) {
    execFileSync('chmod', ['-R', 'u+w', dir], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
}


/** Stage processes of the workspace (their job file is in its store) and this checkout's watchdogs. */
export function leftoverProcesses(ws) {
  return [...processesMentioning(ws.store), ...processesMentioning(watchdogEntry)];
}

export async function eventually(check, ms, everyMs = 50) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Problems with the workspace's lock file: none if it is absent or parses with a stages map. */
export async function lockProblems(ws, name) {
  const text = await readFile(join(ws.dir, name), 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    const lock = JSON.parse(text);
    return typeof lock.stages === 'object' && lock.stages !== null ? [] : [`${name} has no stages map`];
  } catch (error) {
    return [`${name} does not parse: ${error.message}`];
  }
}

const TEMP_NAME = /\.tmp-|\.new~|\.stale~|\.wait\./;

/**
 * What a process left that nothing will clean: with `strict`, any leftover at all; otherwise only
 * leftovers that do not carry the tag of a dead owner (those the next run or gc sweeps).
 */
export async function litter(ws, { strict }) {
  const found = [];
  const consider = (path, name) => {
    if (strict || tagLiveness(name) !== 'dead') found.push(path);
  };
  for (const name of await readdir(join(ws.store, 'tmp')).catch(() => [])) consider(join('store/tmp', name), name);
  for (const folder of ['cache', 'verified', 'runs', 'locks', 'quarantine', '.']) {
    for (const name of await readdir(join(ws.store, folder)).catch(() => [])) if (TEMP_NAME.test(name)) consider(join('store', folder, name), name);
  }
  for (const name of await readdir(ws.dir)) {
    if (TEMP_NAME.test(name)) consider(name, name);
    if (strict && name.endsWith('.lck')) found.push(name);
  }
  return found;
}

/** Flips one bit of a file in place, keeping its size and mtime (what a bad disk or a stray tool does). */
export async function flipBit(file, random) {
  const before = await stat(file);
  await chmod(file, 0o644);
  const bytes = await readFile(file);
  const at = Math.floor(random() * bytes.length);
  bytes[at] ^= 1 << Math.floor(random() * 8);
  await writeFile(file, bytes);
  await utimes(file, before.atime, before.mtime);
  return at;
}

/** A small seeded generator (mulberry32), so a failing case can be replayed with --seed. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Instance id -> outputs, from `lenna run --json` output. */
export function outputsOf(stdout) {
  const parsed = JSON.parse(stdout);
  return Object.fromEntries(parsed.stages.map((s) => [s.id, s.outputs]));
}

/** One sentence, no stack trace, no internal error: what every refusal must look like. */
export function oneSentenceProblems(stderr) {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const problems = [];
  if (/internal error/.test(stderr)) problems.push('says "internal error"');
  if (/\n\s+at [^\n]+:\d+:\d+\)?/.test(stderr)) problems.push('prints a stack trace');
  if (lines.filter((l) => l.startsWith('lenna: ')).length === 0) problems.push('has no "lenna: ..." sentence');
  return problems;
}

export async function writeText(path, text) {
  await writeFile(path, text);
}
