import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { sha256Hex, type RunFacts } from '@lenna/core';

/** LENNA's version: the repository's root package.json (src/ and dist/ sit at the same depth). */
export function lennaVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** git's output in `cwd`, or undefined where git is missing or `cwd` is not in a work tree. */
function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, timeout: 10_000 }, (error, stdout) => resolve(error ? undefined : stdout.trim()));
  });
}

async function sha256OfFile(file: string): Promise<string | null> {
  const bytes = await readFile(file).catch(() => undefined);
  return bytes ? sha256Hex(bytes) : null;
}

/** What a run knows before any stage starts: versions, the commit, the pipeline file. */
export interface RunFactsBase {
  lenna: string;
  node: string;
  git: RunFacts['git'];
  /** The pipeline file's display path and hash; its lock file's absolute path and display path. */
  pipeline: { file: string; sha256: string; lockPath: string; lockFile: string } | null;
}

/**
 * The facts of one `lenna run` (or `lenna stage`, without a pipeline), read once: `git rev-parse HEAD`
 * and `git status --porcelain --untracked-files=no` (dirty as `git describe --dirty` means it: a
 * tracked file differs) where the pipeline file lies.
 */
export async function collectRunFacts(pipeline: { file: string; lockFile: string } | undefined, cwd = process.cwd()): Promise<RunFactsBase> {
  const where = pipeline ? dirname(pipeline.file) : cwd;
  const [commit, status, top] = await Promise.all([
    git(where, ['rev-parse', 'HEAD']),
    git(where, ['status', '--porcelain', '--untracked-files=no']),
    git(where, ['rev-parse', '--show-toplevel']),
  ]);
  const shown = (file: string) => (top ? relative(top, file).split('\\').join('/') : basename(file));
  return {
    lenna: lennaVersion(),
    node: process.version,
    git: commit && status !== undefined ? { commit, dirty: status.length > 0 } : null,
    pipeline: pipeline
      ? { file: shown(pipeline.file), sha256: (await sha256OfFile(pipeline.file)) ?? '', lockPath: pipeline.lockFile, lockFile: shown(pipeline.lockFile) }
      : null,
  };
}

/** The facts a stage instance gets as it starts: the run's, the time, and the lock file as it stands then. */
export async function stageRunFacts(base: RunFactsBase): Promise<RunFacts> {
  const p = base.pipeline;
  return {
    lenna: base.lenna,
    node: base.node,
    date: new Date().toISOString(),
    git: base.git,
    pipeline: p ? { file: p.file, sha256: p.sha256, lockFile: p.lockFile, lockSha256: await sha256OfFile(p.lockPath) } : null,
  };
}
