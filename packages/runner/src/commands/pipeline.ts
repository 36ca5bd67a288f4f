import { ArtifactStore, resolveStoreRoot } from '@lenna/core';
import { intOption, parseCommandArgs, requirePositional } from '../args.js';
import { planPipeline, runPipeline } from '../execute.js';
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
  --json                      print one JSON object on stdout (progress goes to stderr)

Example: lenna run pipelines/quickstart.yaml --set darts-search.lambda=0,0.05,0.2 --jobs 2
         lenna run pipelines/quickstart.yaml --set darts-search.dataset.limit=1024 --set darts-search.stepsPerEpoch=null
         (lenna params shows what --set makes of the params, before anything runs)`;

export const statusHelp = `lenna status <pipeline.yaml> [--set ...] [--json]

Says, per stage instance, whether it is cached or must run, and why (param changed, input changed,
code changed, never run, output missing or corrupt). Runs nothing.

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
    json: { type: 'boolean' },
  });
  if (values.help) return help(runHelp);
  const jobs = intOption('run', 'jobs', values.jobs as string | undefined);
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
  await store.cleanTmp();
  const controller = new AbortController();
  let signalExit: number = EXIT.ok;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalExit = signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    process.stderr.write(`\nlenna: ${signal}: stopping the running stages; finished stages stay in the lock file.\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reporter = makeReporter(Boolean(values.json));
  try {
    const result = await runPipeline(pipeline, { ...selection, jobs, reporter, signal: controller.signal });
    reporter.close();
    if (values.json) printJson(statusJson(pipeline, result.statuses));
    if (result.interrupted) return signalExit || EXIT.sigint;
    const failed = result.statuses.filter((s) => s.state === 'failed');
    for (const f of failed) process.stderr.write(`lenna: stage ${f.instance.id} failed: ${f.reasons.join('; ')}\n`);
    // A stage that rejected its input as a user's mistake makes the run a user error too (exit 2).
    if (failed.length > 0) return failed.some((f) => f.userError) ? EXIT.user : EXIT.failed;
    if (!values.json) summarize(result.statuses.map((s) => s.state));
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
  const statuses = await planPipeline(pipeline, { store: new ArtifactStore(resolveStoreRoot()) });
  if (values.json) printJson(statusJson(pipeline, statuses));
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
