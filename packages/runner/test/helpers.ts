import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

const here = dirname(fileURLToPath(import.meta.url));
export const fixturesDir = join(here, 'fixtures');
export const repoRoot = resolve(here, '../../..');
export const lennaBin = resolve(here, '../bin/lenna.js');

/** A temp folder with copies of the fixture stages and pipelines, its own store, and node_modules linked. */
export interface Workspace {
  dir: string;
  store: string;
  lenna(args: string[], opts?: { env?: Record<string, string> }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  spawn(args: string[], env?: Record<string, string>): ResultPromise;
  read(file: string): Promise<string>;
  edit(file: string, change: (text: string) => string): Promise<void>;
}

const created: string[] = [];

/** For afterAll: removes every workspace this test file made. */
export async function removeWorkspaces(): Promise<void> {
  // Committed artifacts are read-only: make the folders writable so the files can be unlinked.
  for (const dir of created) execFileSync('chmod', ['-R', 'u+w', dir], { stdio: 'ignore' });
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export { processesMentioning } from './support/processes.mjs';

/** Polls until `check` holds or `ms` pass; returns whether it held. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function makeWorkspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'lenna-runner-'));
  created.push(dir);
  await cp(fixturesDir, dir, { recursive: true });
  // Fixture stages import @lenna/core and zod: resolve them from the repository.
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const store = join(dir, 'store');
  // Its own timing lock: tests of other checkouts on this machine do not wait on each other's timings.
  const env = { LENNA_STORE: store, LENNA_TIMING_LOCK: join(dir, 'timing.lock') };
  const spawn = (args: string[], extra: Record<string, string> = {}): ResultPromise =>
    execa(process.execPath, [lennaBin, ...args], { cwd: dir, env: { ...env, ...extra }, reject: false });
  return {
    dir,
    store,
    spawn: (args, extra) => spawn(args, extra),
    async lenna(args, opts = {}) {
      const r = await spawn(args, opts.env);
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    read: (file) => readFile(join(dir, file), 'utf8'),
    async edit(file, change) {
      const path = join(dir, file);
      await writeFile(path, change(await readFile(path, 'utf8')));
    },
  };
}

export interface StageJson {
  id: string;
  stage: string;
  state: string;
  reasons: string[];
  outputs: Record<string, string>;
}

/** Parses `--json` output and maps instance id -> entry. */
export function byId(stdout: string): Record<string, StageJson> {
  const parsed = JSON.parse(stdout) as { stages: StageJson[] };
  return Object.fromEntries(parsed.stages.map((s) => [s.id, s]));
}

export function states(stdout: string): Record<string, string> {
  return Object.fromEntries(Object.entries(byId(stdout)).map(([k, v]) => [k, v.state]));
}
