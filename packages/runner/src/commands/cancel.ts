import { ArtifactStore, resolveStoreRoot } from '@lenna/core';
import { parseCommandArgs, requirePositional } from '../args.js';
import { lockFileOf } from '../pipeline/load.js';
import { commandLineClient, type SlurmClient } from '../slurm/client.js';
import { isActive, knownJobs, type KnownJob } from '../slurm/jobs.js';
import { help } from './pipeline.js';
import { printJson } from './output.js';

export const cancelHelp = `lenna cancel <pipeline.yaml> [--json]

Cancels the pipeline's SLURM jobs that are queued or running (scancel) and waits until they have
stopped. A running job stops its stage and removes its staging folder, so nothing half-made enters
the store; what finished stays in the store and the lock file, and the next lenna run goes on from
there. The jobs are found by the pipeline's lock file path, so a pipeline file that no longer loads
can still be cancelled.

Example: lenna cancel pipelines/quickstart.yaml`;

/** How long cancelled jobs get to stop (SLURM's KillWait is 30 s by default) before lenna says which still run. */
const STOP_WAIT_MS = 120_000;

export async function cancelCommand(argv: string[], client: SlurmClient = commandLineClient): Promise<number> {
  const { values, positionals } = parseCommandArgs('cancel', argv, { json: { type: 'boolean' } });
  if (values.help) return help(cancelHelp);
  const file = requirePositional('cancel', positionals, 'the pipeline file (e.g. pipelines/quickstart.yaml)');
  const store = new ArtifactStore(resolveStoreRoot());
  const lockFile = lockFileOf(file);
  const active = (await knownJobs(store.root, lockFile, client, { requireScheduler: true })).filter((j) => isActive(j.info.state));
  if (active.length > 0) await client.cancel(active.map((j) => j.info.id));
  const running = await waitUntilStopped(active, client);
  if (values.json) printJson({ cancelled: active.map((j) => ({ id: j.instance, job: j.info.id, was: j.info.state })), stillStopping: running.map((j) => j.info.id) });
  else if (active.length === 0) process.stdout.write(`No job of ${file} is queued or running.\n`);
  else for (const j of active) process.stdout.write(`cancelled job ${j.info.id} (${j.instance}, was ${j.info.state})\n`);
  if (running.length === 0) return 0;
  process.stderr.write(`lenna cancel: job(s) ${running.map((j) => j.info.id).join(', ')} have not stopped within ${STOP_WAIT_MS / 1000} s; squeue shows them, scancel --signal=KILL ends them.\n`);
  return 1;
}

async function waitUntilStopped(jobs: KnownJob[], client: SlurmClient): Promise<KnownJob[]> {
  const end = Date.now() + STOP_WAIT_MS;
  for (let left = jobs; ; ) {
    if (left.length === 0) return left;
    const states = await client.states(left.map((j) => j.info.id));
    // A job the controller no longer lists has stopped.
    left = left.filter((j) => isActive(states.get(j.info.id)?.state ?? 'COMPLETED'));
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
