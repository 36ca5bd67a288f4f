// A full disk and a read-only store, on a small tmpfs (mounting one needs root).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leftoverProcesses, litter, oneSentenceProblems, outputsOf, workspace } from './helpers.mjs';

/** Skipped with one line, or failed where LENNA_REQUIRE_MOUNT=1 says the machine must be able to. */
function cannot(names, why) {
  if (process.env.LENNA_REQUIRE_MOUNT === '1') return names.map((name) => ({ name, problems: [`LENNA_REQUIRE_MOUNT=1, but ${why}`] }));
  return names.map((name) => ({ name, skipped: `${why} (LENNA_REQUIRE_MOUNT=1 turns this skip into a failure)` }));
}

export async function diskCases() {
  const names = ['disk full during a commit: exit 2, one sentence, finished outputs kept and committed by the retry without recomputing', 'read-only store: status and show work, run exits 2 in one sentence'];
  if (process.getuid?.() !== 0) return cannot(names, 'mounting a small tmpfs needs root');
  const mountpoint = await mkdtemp(join(tmpdir(), 'lenna-faults-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountpoint], { stdio: 'ignore' });
  } catch {
    await rm(mountpoint, { recursive: true, force: true });
    return cannot(names, 'this machine cannot mount a tmpfs (needs CAP_SYS_ADMIN)');
  }
  try {
    return [await diskFull(mountpoint, names[0]), await readOnly(mountpoint, names[1])];
  } finally {
    execFileSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
    await rm(mountpoint, { recursive: true, force: true });
  }
}

async function diskFull(mountpoint, name) {
  const problems = [];
  const reference = await workspace('disk-reference');
  const expected = outputsOf((await reference.lenna(['run', 'basic.yaml', '--json'])).stdout);
  const ws = await workspace('disk', { store: join(mountpoint, 'store') });
  const ballast = join(mountpoint, 'ballast.bin');
  const trace = join(ws.dir, 'trace.txt');
  const full = await ws.lenna(['run', 'basic.yaml', '--jobs', '1'], { LENNA_FIXTURE_BALLAST: `left:${ballast}`, LENNA_FIXTURE_TRACE: trace });
  if (full.code !== 2) problems.push(`the run on a full disk exited ${full.code}, not 2: ${full.stderr}`);
  problems.push(...oneSentenceProblems(full.stderr));
  if (!/lenna: stage left failed: no space left on the device holding \S+; free some space .* \(ENOSPC\); the finished outputs of left are kept in \S+pending\S+, and the next run commits them without running the stage again\./.test(full.stderr)) {
    problems.push(`the disk-full sentence is not as documented: ${full.stderr.trim()}`);
  }
  const pending = await readdir(join(ws.store, 'pending')).catch(() => []);
  if (pending.length !== 1) problems.push(`pending/ holds ${pending.length} folder(s), not the one left finished`);
  await rm(ballast);
  const retry = await ws.lenna(['run', 'basic.yaml', '--jobs', '1', '--json'], { LENNA_FIXTURE_TRACE: trace });
  if (retry.code !== 0) problems.push(`the retry exited ${retry.code}: ${retry.stderr}`);
  else {
    const got = outputsOf(retry.stdout);
    for (const [id, outputs] of Object.entries(expected)) if (JSON.stringify(got[id]) !== JSON.stringify(outputs)) problems.push(`${id}: ${JSON.stringify(got[id])} != ${JSON.stringify(outputs)}`);
  }
  if (!/left: committed the outputs an earlier run finished/.test(retry.stderr)) problems.push('the retry did not say it committed the outputs left had finished');
  const leftStarts = (await readFile(trace, 'utf8')).split('\n').filter((l) => l.startsWith('left start')).length;
  if (leftStarts !== 1) problems.push(`left ran ${leftStarts} times; the retry should have committed its kept outputs`);
  if ((await readdir(join(ws.store, 'pending')).catch(() => [])).length) problems.push('pending/ is not empty after the retry');
  const verify = await ws.lenna(['verify']);
  if (verify.code !== 0) problems.push(`verify exited ${verify.code}`);
  const left = await litter(ws, { strict: true });
  if (left.length) problems.push(`left over: ${left.join(', ')}`);
  if (leftoverProcesses(ws).length) problems.push('stage processes left running');
  return { name, problems };
}

async function readOnly(mountpoint, name) {
  const problems = [];
  const ws = await workspace('readonly', { store: join(mountpoint, 'store') });
  execFileSync('mount', ['-o', 'remount,ro', mountpoint], { stdio: 'ignore' });
  try {
    const status = await ws.lenna(['status', 'basic.yaml', '--json']);
    if (status.code !== 0 || !JSON.parse(status.stdout || '{"stages":[]}').stages.every((s) => s.state === 'cached')) problems.push(`status on a read-only store: exit ${status.code}, ${status.stdout}${status.stderr}`);
    const joinId = JSON.parse(status.stdout || '{"stages":[]}').stages.find((s) => s.id === 'join')?.outputs.data;
    const show = await ws.lenna(['show', String(joinId), '--json']);
    if (show.code !== 0) problems.push(`show on a read-only store exited ${show.code}: ${show.stderr}`);
    const run = await ws.lenna(['run', 'basic.yaml', '--force', 'left']);
    if (run.code !== 2) problems.push(`run on a read-only store exited ${run.code}, not 2`);
    problems.push(...oneSentenceProblems(run.stderr));
    if (!/is on a read-only file system; set LENNA_STORE to a writable folder .*\(EROFS\)\.$/.test(run.stderr.trim())) problems.push(`not the read-only sentence: ${run.stderr.trim()}`);
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', mountpoint], { stdio: 'ignore' });
  }
  return { name, problems };
}
