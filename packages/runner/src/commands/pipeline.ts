import { ArtifactStore, DEFAULT_LOCK_TIMEOUT_S, gcLockPath, resolveStoreRoot, RunLog, UserError, withFileLock } from '@lenna/core';
import { intOption, lockTimeoutOption, parseCommandArgs, requirePositional } from '../args.js';
import type { LockPolicy } from '../lockfile.js';
import type { InstanceStatus } from '../evaluate.js';
import { planPipeline, runPipeline } from '../execute.js';
import { SlurmExecutor } from '../slurm/executor.js';
import { attachJobs } from '../slurm/jobs.js';
import { loadPipeline, type Pipeline } from '../pipeline/load.js';
import { parseOverride } from '../pipeline/overrides.js';
import { LiveReporter, PlainReporter, type Reporter } from '../progress.js';
import { printJson, statusJson, statusTable } from './output.js';

export const EXIT = { ok: 0, failed: 1, user: 2, notCached: 3, sigint: 130, sigterm: 143 } as const;

export const runHelp = `lenna run <pipeline.yaml> [options]

Runs the pipeline's stages that are not cached, in dependency order, and updates <pipeline>.lock.json.

  --set <stage>.<param>=<v>   set a param for this run; a,b,c sweeps it (a matrix); params.<name>=<v> sets a shared param;
                              "a,b" (quoted) is one value; null sets null; <stage>.<param>.<key>=<v> sets a key of an object param
  --only <stage>              run only this stage (and what it needs)
  --from <stage>              re-run this stage and everything downstream of it
  --force <stage>             re-run this stage even if cached
  --dry-run                   show what would run, run nothing
  --cached-only               run nothing; exit 3 listing the stages that are not cached
  --jobs N                    stages run in parallel (default: number of cores)
  --lock-timeout S            give up (exit 2) after waiting S seconds on a lock another lenna holds (default ${DEFAULT_LOCK_TIMEOUT_S})
  --json                      print one JSON object on stdout (progress goes to stderr)
  --executor local|slurm      where stages run: here (default), or each as a SLURM job (sbatch, dependencies follow the graph)
  --partition P, --account A  the SLURM partition and account of the jobs (--executor slurm)
  --detach                    submit the jobs and return; lenna status follows them, lenna cancel stops them (--executor slurm)

Example: lenna run pipelines/quickstart.yaml --set darts-search.lambda=0,0.05,0.2 --jobs 2
         lenna run pipelines/quickstart.yaml --executor slurm --partition gpu --detach
         lenna run pipelines/quickstart.yaml --set darts-search.dataset.limit=1024 --set darts-search.stepsPerEpoch=null
         (lenna params shows what --set makes of the params, before anything runs)`;

export const statusHelp = `lenna status <pipeline.yaml> [--set ...] [--json]

Says, per stage instance, whether it is cached or must run, and why (param changed, input changed,
code changed, never run, output missing or corrupt). Runs nothing. Where lenna run --executor slurm
submitted the pipeline, each instance's latest job is shown with its SLURM state (PENDING, RUNNING,
COMPLETED, FAILED, ...), and a failed job's log with its last lines.

Example: lenna status pipelines/quickstart.yaml --json`;

export const dagHelp = `lenna dag <pipeline.yaml> [--mermaid] [--set ...]

Prints the pipeline's stage instances and what each needs; --mermaid prints a Mermaid flowchart.

Example: lenna dag pipelines/quickstart.yaml --mermaid`;

export const pipelineOptions = { set: { type: 'string', multiple: true } } as const;

export async function openPipeline(command: string, positionals: string[], sets: string[] | undefined): Promise<Pipeline> {
  const file = requirePositional(command, positionals, 'the pipeline file (e.g. pipelines/quickstart.yaml)');
  return loadPipeline(file, { overrides: (sets ?? []).map(parseOverride) });
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', argv, {
    ...pipelineOptions,
    only: { type: 'string', multiple: true },
    from: { type: 'string', multiple: true },
    force: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean' },
    'cached-only': { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    'lock-timeout': { type: 'string' },
    json: { type: 'boolean' },
    executor: { type: 'string' },
    partition: { type: 'string' },
    account: { type: 'string' },
    detach: { type: 'boolean' },
  });
  if (values.help) return help(runHelp);
  const jobs = intOption('run', 'jobs', values.jobs as string | undefined);
  const lockTimeoutS = lockTimeoutOption('run', values['lock-timeout'] as string | undefined);
  const executorName = executorOption(values);
  const pipeline = await openPipeline('run', positionals, values.set as string[] | undefined);
  const store = new ArtifactStore(resolveStoreRoot());
  const selection = { store, only: values.only as string[] | undefined, from: values.from as string[] | undefined, force: values.force as string[] | undefined };
  if (values['dry-run'] || values['cached-only']) {
    const statuses = await planPipeline(pipeline, selection);
    if (values.json) printJson(statusJson(pipeline, statuses));
    else process.stdout.write(statusTable(statuses));
    const toRun = statuses.filter((s) => s.state !== 'cached');
    if (values['cached-only'] && toRun.length > 0) {
      process.stderr.write(`lenna run --cached-only: ${toRun.length} stage(s) are not cached and would have to run: ${toRun.map((s) => s.instance.id).join(', ')}\n`);
      return EXIT.notCached;
    }
    return EXIT.ok;
  }
  const controller = new AbortController();
  let signalExit: number = EXIT.ok;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalExit = signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    process.stderr.write(`\nlenna: ${signal}: stopping the running stages; finished stages stay in the lock file.\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const lockPolicy: LockPolicy = {
    timeoutMs: lockTimeoutS * 1000,
    signal: controller.signal,
    purpose: `lenna run ${argv.join(' ')}`,
    onWait: (message) => process.stderr.write(`lenna: ${message}\n`),
  };
  const reporter = makeReporter(Boolean(values.json));
  const command = `lenna run ${argv.join(' ')}`;
  const slurm =
    executorName === 'slurm'
      ? new SlurmExecutor({
          partition: values.partition as string | undefined,
          account: values.account as string | undefined,
          detach: Boolean(values.detach),
          command,
          lockTimeoutS,
        })
      : undefined;
  let runLog: RunLog | undefined;
  try {
    // Recorded before anything is made, so a gc starting now sees this run and leaves the store alone.
    runLog = await RunLog.start(store.root, { kind: 'run', command, lockFile: pipeline.lockFile });
    await withFileLock(gcLockPath(store.root), { ...lockPolicy, what: 'the store (lenna gc is running)' }, async () => undefined);
    await store.cleanTmp();
    const oneOff = ((values.set as string[] | undefined) ?? []).length > 0;
    const result = await runPipeline(pipeline, { ...selection, jobs, reporter, signal: controller.signal, lockPolicy, runLog, keepLockEntries: oneOff, executor: slurm });
    reporter.close();
    if (values.json) printJson(statusJson(pipeline, result.statuses, executorName));
    if (slurm && !values.json) reportSubmission(slurm, pipeline, result.statuses, positionals[0]);
    if (result.interrupted) {
      if (slurm) process.stderr.write(`lenna: the SLURM jobs keep running; lenna status ${positionals[0]} follows them, lenna cancel ${positionals[0]} stops them.\n`);
      return signalExit || EXIT.sigint;
    }
    const failed = result.statuses.filter((s) => s.state === 'failed');
    for (const f of failed) {
      process.stderr.write(`lenna: stage ${f.instance.id} failed: ${f.reasons.join('; ')}\n`);
      for (const line of f.job?.tail ?? []) process.stderr.write(`  | ${line}\n`);
    }
    // A stage that rejected its input as a user's mistake makes the run a user error too (exit 2).
    if (failed.length > 0) return failed.some((f) => f.userError) ? EXIT.user : EXIT.failed;
    if (!values.json && !slurm?.detached) summarize(result.statuses.map((s) => s.state));
    return EXIT.ok;
  } catch (error) {
    if (controller.signal.aborted) return signalExit || EXIT.sigint;
    throw error;
  } finally {
    await runLog?.finish().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--executor`: local (default) or slurm; the SLURM options only with slurm, --jobs only without. */
function executorOption(values: Record<string, unknown>): 'local' | 'slurm' {
  const name = (values.executor as string | undefined) ?? 'local';
  if (name !== 'local' && name !== 'slurm') throw new UserError(`lenna run: --executor ${name} is not an executor; give --executor local or --executor slurm.`);
  if (name === 'local') {
    const slurmOnly = ['partition', 'account', 'detach'].filter((o) => values[o] !== undefined);
    if (slurmOnly.length > 0) throw new UserError(`lenna run: --${slurmOnly[0]} applies to SLURM jobs; add --executor slurm.`);
  } else if (values.jobs !== undefined) {
    throw new UserError('lenna run: --jobs applies to the local executor; with --executor slurm the cluster decides how many jobs run at once.');
  }
  return name;
}

/** After submitting (and, unless detached, following): how many jobs, and how to follow or stop them. */
function reportSubmission(slurm: SlurmExecutor, pipeline: Pipeline, statuses: InstanceStatus[], file: string | undefined): void {
  const { jobs, instances } = slurm.submitted;
  const cached = statuses.filter((s) => s.state === 'cached').length;
  if (instances === 0) return;
  const where = slurm.submissionDir ? `; job files and outputs in ${slurm.submissionDir}` : '';
  process.stdout.write(`${pipeline.name}: ${instances} stage instance(s) submitted to SLURM as ${jobs} sbatch job(s), ${cached} cached${where}.\n`);
  if (slurm.detached) process.stdout.write(`lenna status ${file} follows them; lenna cancel ${file} stops them.\n`);
}

function summarize(states: string[]): void {
  const ran = states.filter((s) => s === 'ran').length;
  const cached = states.filter((s) => s === 'cached').length;
  process.stdout.write(`${ran} stage(s) ran, ${cached} cached.\n`);
}

function makeReporter(json: boolean): Reporter {
  if (!json && process.stdout.isTTY) return new LiveReporter(process.stdout);
  const stream = json ? process.stderr : process.stdout;
  return new PlainReporter((t) => stream.write(t));
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', argv, { ...pipelineOptions, json: { type: 'boolean' } });
  if (values.help) return help(statusHelp);
  const pipeline = await openPipeline('status', positionals, values.set as string[] | undefined);
  const store = new ArtifactStore(resolveStoreRoot());
  const statuses = await planPipeline(pipeline, { store });
  const jobs = await attachJobs(statuses, store.root, pipeline.lockFile);
  if (values.json) printJson(statusJson(pipeline, statuses, jobs ? 'slurm' : undefined));
  else process.stdout.write(statusTable(statuses));
  return EXIT.ok;
}

export async function dagCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('dag', argv, { ...pipelineOptions, mermaid: { type: 'boolean' } });
  if (values.help) return help(dagHelp);
  const pipeline = await openPipeline('dag', positionals, values.set as string[] | undefined);
  process.stdout.write(values.mermaid ? mermaid(pipeline) : textDag(pipeline));
  return EXIT.ok;
}

function textDag(pipeline: Pipeline): string {
  const lines = pipeline.instances.map((inst) => {
    const needs = Object.entries(inst.inputs).map(([name, input]) => {
      const list = Array.isArray(input) ? input : [input];
      return `${name} <- ${list.map((i) => `${i.from.id}.${i.output}`).join(', ') || '(none)'}`;
    });
    return `${inst.id} (${inst.stage.ref.definition.name})${needs.length ? `\n    ${needs.join('\n    ')}` : ''}`;
  });
  return `${pipeline.name}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

function mermaid(pipeline: Pipeline): string {
  const node = new Map(pipeline.instances.map((inst, i) => [inst, `n${i}`]));
  const lines = ['flowchart TD'];
  for (const inst of pipeline.instances) lines.push(`  ${node.get(inst)}["${inst.id.replace(/"/g, '#quot;')}"]`);
  for (const inst of pipeline.instances) {
    for (const [name, input] of Object.entries(inst.inputs)) {
      for (const i of Array.isArray(input) ? input : [input]) lines.push(`  ${node.get(i.from)} -->|${i.output} to ${name}| ${node.get(inst)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function help(text: string): number {
  process.stdout.write(text + '\n');
  return EXIT.ok;
}
