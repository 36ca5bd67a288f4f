import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { writeArrowFile } from './arrow.js';
import { UserError } from './errors.js';
import { joinAll } from './fsutil.js';
import { listFilesRecursive } from './hash.js';
import { resolveStageInputs, type InputLocation } from './inputs.js';
import { ProgressThrottle } from './progress.js';
import { writeSafetensorsFile } from './safetensors.js';
import type { InputArtifact, ProgressEvent, RunFacts, StageContext, StageDefinition, StageMessage } from './stage.js';

/** How a running stage talks to whoever runs it (the runner over IPC, stderr, or a test). */
export interface StageChannel {
  progress(event: ProgressEvent): void;
  log(message: string): void;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  signal: AbortSignal;
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

/** Validate params with the stage's own schema; the error names each bad key and what is wrong with it. */
export function parseStageParams(stage: StageDefinition, params: unknown, where?: string): unknown {
  const result = stage.params.safeParse(params ?? {});
  if (result.success) return result.data;
  const issues = (result.error as { issues: ZodLikeIssue[] }).issues.map(describeIssue).join('; ');
  throw new UserError(`${where ? `${where}: ` : ''}invalid params for stage "${stage.name}": ${issues}`);
}

function describeIssue(issue: ZodLikeIssue): string {
  const key = issue.path.map(String).join('.');
  if (issue.keys?.length) return `unknown param ${issue.keys.map((k) => `"${key ? `${key}.` : ''}${k}"`).join(', ')} (${issue.message})`;
  return key ? `param "${key}": ${issue.message}` : issue.message;
}

export interface StageContextOptions {
  stage: StageDefinition;
  params: unknown;
  inputs: Record<string, InputArtifact>;
  gathered: Record<string, InputArtifact[]>;
  stagingDir: string;
  scratchDir: string;
  instance: string;
  channel: StageChannel;
  run?: RunFacts;
}

/** The ctx a stage's run() receives: every write lands in `<stagingDir>/<output>/<file>`. */
export function createStageContext(opts: StageContextOptions): StageContext<unknown> {
  const { stage, channel } = opts;
  const outputDir = (output: string): string => {
    if (!(output in stage.outputs)) {
      throw new Error(`stage "${stage.name}" wrote to output "${output}", which it does not declare (declared: ${Object.keys(stage.outputs).join(', ')})`);
    }
    return join(opts.stagingDir, output);
  };
  const filePath = async (output: string, file: string): Promise<string> => {
    if (!file || isAbsolute(file) || file.split(/[\\/]/).some((part) => part === '..' || part === '')) {
      throw new Error(`stage "${stage.name}" output "${output}": "${file}" is not a plain relative file name`);
    }
    if (file === 'manifest.json') throw new Error(`stage "${stage.name}" output "${output}": "manifest.json" is reserved for the store`);
    const path = joinAll(outputDir(output), file.replace(/\\/g, '/'));
    await mkdir(dirname(path), { recursive: true });
    return path;
  };
  return {
    params: opts.params,
    inputs: opts.inputs,
    gathered: opts.gathered,
    instance: opts.instance,
    scratchDir: opts.scratchDir,
    outputDir(output) {
      return outputDir(output);
    },
    async writeJson(output, file, value) {
      await writeFile(await filePath(output, file), `${JSON.stringify(value, null, 2)}\n`);
    },
    async writeTable(output, file, table) {
      await writeArrowFile(await filePath(output, file), table);
    },
    async writeSafetensors(output, file, tensors, metadata) {
      await writeSafetensorsFile(await filePath(output, file), tensors, metadata);
    },
    async writeText(output, file, text) {
      await writeFile(await filePath(output, file), text);
    },
    progress: (event) => channel.progress(event),
    log: (message) => channel.log(message),
    exclusive: (fn) => channel.exclusive(fn),
    signal: channel.signal,
    run: opts.run,
  };
}

/** Every declared output must have at least one file: an empty output is a stage bug, not an artifact. */
export async function checkStageOutputs(stage: StageDefinition, stagingDir: string): Promise<void> {
  for (const output of Object.keys(stage.outputs)) {
    const files = await listFilesRecursive(join(stagingDir, output)).catch(() => [] as string[]);
    if (files.length === 0) throw new Error(`stage "${stage.name}" finished without writing any file to its output "${output}"`);
  }
}

export interface RunStageOptions {
  params: unknown;
  /** Input name -> artifact folder, or a list of folders for a gather input. */
  inputs: Record<string, string | string[]>;
  stagingDir: string;
  scratchDir?: string;
  instance?: string;
  onEvent?: (message: StageMessage) => void;
  signal?: AbortSignal;
  /** Facts about the run, as a runner would give them (tests). */
  run?: RunFacts;
}

/** Run a stage in this process over plain folders (tests, `lenna stage`): same checks and ctx as the stage host. */
export async function runStageInProcess(stage: StageDefinition, opts: RunStageOptions): Promise<void> {
  const params = parseStageParams(stage, opts.params);
  const { inputs, gathered } = await resolveStageInputs(stage, folderLocations(opts.inputs));
  const stagingDir = resolve(opts.stagingDir);
  const scratchDir = resolve(opts.scratchDir ?? join(stagingDir, '.scratch'));
  await mkdir(stagingDir, { recursive: true });
  await mkdir(scratchDir, { recursive: true });
  const emit = opts.onEvent ?? (() => undefined);
  const throttle = new ProgressThrottle((event) => emit({ type: 'progress', event }));
  const channel: StageChannel = {
    progress: (event) => throttle.push(event),
    log: (message) => emit({ type: 'log', message }),
    exclusive: (fn) => fn(),
    signal: opts.signal ?? new AbortController().signal,
  };
  const ctx = createStageContext({ stage, params, inputs, gathered, stagingDir, scratchDir, instance: opts.instance ?? stage.name, channel, run: opts.run });
  await stage.run(ctx);
  throttle.flush();
  await checkStageOutputs(stage, stagingDir);
}

function folderLocations(inputs: Record<string, string | string[]>): Record<string, InputLocation | InputLocation[]> {
  const toLocation = (dir: string): InputLocation => ({ dir });
  return Object.fromEntries(Object.entries(inputs).map(([name, dirs]) => [name, Array.isArray(dirs) ? dirs.map(toLocation) : toLocation(dirs)]));
}
