import type { z } from 'zod';
import type { Table } from 'apache-arrow';

/**
 * The stage contract: what a stage package exports and what the runner relies on.
 * A stage package's index exports `stage = defineStage({...})`; the runner starts it in its own
 * process through the stage host (`runStageJob`) and never imports anything else from it.
 */

/** How an output's files are laid out. Every output is one artifact: a folder of files. */
export type OutputKind = 'json' | 'arrow' | 'safetensors' | 'svg' | 'files';

export interface OutputSpec {
  kind: OutputKind;
  description: string;
}

export interface InputSpec {
  /** What the upstream output must be, e.g. 'arrow'; 'files' accepts anything. */
  kind: OutputKind;
  description: string;
  /** A gather input (`needs: { runs: retrain-eval.metrics[*] }`) receives every instance's artifact. */
  many?: boolean;
  optional?: boolean;
}

/** One input artifact as a running stage sees it: read-only files in the store. */
export interface InputArtifact {
  id: string;
  dir: string;
  /** File names in the artifact (manifest.json excluded). */
  files: string[];
  /** Absolute path of one file; throws naming the artifact if the file is absent. */
  path(file: string): string;
  /** The manifest of the artifact (producing stage, params, ...). */
  manifest: Manifest;
  /**
   * The upstream instance that produced this input in the running pipeline, e.g.
   * `darts-search@lambda=2`. Prefer it to `manifest.instance`: two instances whose outputs are
   * byte-identical share one artifact, and its manifest names only the first.
   */
  instance?: string;
}

export interface ProgressEvent {
  done: number;
  total?: number;
  /** Short text, e.g. "epoch 3/10" or "rows 120/400". */
  label?: string;
}

/**
 * Facts about the pipeline run a stage instance is part of, for provenance (the report's header).
 * NOT part of the cache key: a cached output keeps the facts of the run that made it, and a stage
 * that writes them makes those outputs differ between two runs with one key. Only the report does,
 * and only in its html output (see docs/architecture.md).
 */
export interface RunFacts {
  /** LENNA's version (the repository's root package.json). */
  lenna: string;
  /** The Node.js version that runs the stages (`process.version`). */
  node: string;
  /** When this stage instance started, ISO 8601 UTC. */
  date: string;
  /** The git commit checked out where the pipeline file lies, and whether tracked files differ from it; null outside a git work tree. */
  git: { commit: string; dirty: boolean } | null;
  /**
   * The pipeline file (relative to the git work tree, else its base name) and the sha256 of its bytes;
   * its lock file and the sha256 of the lock's bytes when this stage started (null before the first run).
   */
  pipeline: { file: string; sha256: string; lockFile: string; lockSha256: string | null } | null;
}

export interface StageContext<P> {
  /** Fully resolved params (defaults applied) after validation by the stage's own schema. */
  params: P;
  /** Single inputs by name; gather inputs are in `gathered`. */
  inputs: Record<string, InputArtifact>;
  gathered: Record<string, InputArtifact[]>;
  /** The stage's own instance id in the pipeline, e.g. `darts-search@lambda=0.1`. */
  instance: string;
  /** A folder that survives an interrupted run with the same cache key (checkpoints, resumable rows). */
  scratchDir: string;
  /** The folder an output's files go to (created on demand). */
  outputDir(output: string): string;
  writeJson(output: string, file: string, value: unknown): Promise<void>;
  writeTable(output: string, file: string, table: Table): Promise<void>;
  writeSafetensors(output: string, file: string, tensors: Record<string, TensorData>, metadata?: Record<string, string>): Promise<void>;
  writeText(output: string, file: string, text: string): Promise<void>;
  progress(event: ProgressEvent): void;
  log(message: string): void;
  /**
   * Holds the machine alone while `fn` runs, the one way a stage does: the runner grants it to one
   * stage at a time, machine-wide (no other lenna process times meanwhile), and pauses its other
   * running stages. Stages that time things call this around the timing only.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Aborted on Ctrl-C / SIGTERM; long loops check it between steps. */
  signal: AbortSignal;
  /** Facts about the run (commit, pipeline, date), when a runner gives them; never in the cache key. */
  run?: RunFacts;
}

export interface StageDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Bump when outputs would change for the same inputs and code fingerprint. */
  version: number;
  description: string;
  params: S;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, OutputSpec>;
  /** True where outputs depend on this machine's timings: the env fingerprint joins the cache key (nothing else; timing alone is ctx.exclusive). */
  measures: boolean;
  /** Extra inputs to the cache key from files outside the store (a CIFAR-10 folder's content), from params. */
  externalFingerprint?(params: z.output<S>): Promise<string | undefined>;
  /**
   * The params as they enter the cache key; default: all of them. A stage whose externalFingerprint
   * covers a folder's content leaves that folder's path out here, so the same data at another path
   * or on another machine is a cache hit.
   */
  keyParams?(params: z.output<S>): unknown;
  /** Environment fingerprint for `measures` stages (backend, versions, CPU, GPU). */
  environment?(params: z.output<S>): Promise<Record<string, unknown>>;
  run(ctx: StageContext<z.output<S>>): Promise<void>;
}

export function defineStage<S extends z.ZodType>(def: StageDefinition<S>): StageDefinition<S> {
  return def;
}

/** A tensor as safetensors stores it: dtype, shape and the typed array of its values. */
export type DType = 'F16' | 'F32' | 'F64' | 'I8' | 'I16' | 'I32' | 'I64' | 'U8' | 'U16' | 'U32' | 'BOOL';

export interface TensorData {
  dtype: DType;
  shape: number[];
  /** F16 values are given and returned as a Float32Array; I64 as a BigInt64Array; BOOL as a Uint8Array of 0/1. */
  data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array;
}

export interface FileEntry {
  sha256: string;
  size: number;
}

export interface Manifest {
  formatVersion: 1;
  id: string;
  /** The output kind, e.g. 'arrow'. */
  kind: OutputKind;
  /** Producing stage name, its output name and instance id (for humans; not part of the id). */
  stage: string;
  output: string;
  instance?: string;
  cacheKey: string;
  params: unknown;
  inputs: Record<string, string | string[]>;
  environment?: Record<string, unknown>;
  files: Record<string, FileEntry>;
  /** For Arrow files: file name to the list of columns with their Arrow type. */
  schemas?: Record<string, { name: string; type: string }[]>;
  createdAt: string;
}

export interface JobInput {
  id: string;
  dir: string;
  instance?: string;
}

/** The job file the runner hands to a stage process. */
export interface StageJob {
  /** Package to import the stage definition from (resolved by the child), e.g. '@lenna/darts-search'. */
  package: string;
  instance: string;
  params: unknown;
  cacheKey: string;
  /** Each input's artifact; `instance` is the upstream pipeline instance that produced it. */
  inputs: Record<string, JobInput | JobInput[]>;
  storeRoot: string;
  /** Empty folder the stage writes outputs into: `<stagingDir>/<output>/<file>`. */
  stagingDir: string;
  scratchDir: string;
  environment?: Record<string, unknown>;
  /** Facts about the run for provenance; not part of the cache key. */
  run?: RunFacts;
}

/** Messages the stage process sends to the runner (over execa's IPC channel). */
export type StageMessage =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'log'; message: string }
  | { type: 'exclusive-request'; token: number }
  | { type: 'exclusive-release'; token: number }
  | { type: 'done' }
  | { type: 'error'; message: string; userError: boolean };

/** Messages the runner sends to the stage process: the machine is granted, or cannot be (the wait timed out). */
export type RunnerMessage = { type: 'exclusive-grant'; token: number } | { type: 'exclusive-refused'; token: number; message: string };
