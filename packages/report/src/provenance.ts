import { canonicalJson, sha256Hex, type RunFacts } from '@lenna/core';
import type { Measurement } from './match.js';

/** One machine that timed something: the environment a measuring stage's manifest records, and its fingerprint. */
export interface Machine {
  /** The first 12 hex digits of the sha256 of the environment's canonical JSON: equal environments, equal fingerprint. */
  fingerprint: string;
  environment: Record<string, unknown>;
}

/** Where a latency column's numbers come from. */
export interface ColumnSource {
  column: string;
  meaning: string;
  /** The stage that measured (or predicted) it. */
  stage: string;
  /** Fingerprints of the machines that measured it (for a prediction: that measured the latency model's data). */
  machines: string[];
  /** For a prediction: the measuring stage its model learnt from. */
  learntFrom?: string;
}

export interface Provenance {
  formatVersion: 1;
  /**
   * The run that rendered this report (commit, pipeline and lock hashes, date, LENNA and Node versions),
   * as the runner gave it; null when the report ran outside a runner. Not part of the cache key: a
   * cached report keeps the facts of the run that made it.
   */
  run: RunFacts | null;
  /** Every machine that timed a number in this report, by fingerprint. */
  machines: Machine[];
  columns: ColumnSource[];
  /** Each run's measuring instance, artifact and machine. */
  runs: { instance: string; stage: string | null; artifact: string; machine: string | null }[];
  /** Plain sentences: a column measured on several machines, a model learnt on another machine, nothing recorded. */
  notes: string[];
}

export function machineOf(environment: Record<string, unknown>): Machine {
  return { fingerprint: sha256Hex(canonicalJson(environment)).slice(0, 12), environment };
}

export interface ProvenanceInput {
  run: RunFacts | undefined;
  /** Each row's instance and who timed it (retrain-eval's manifest). */
  runs: { instance: string; measuredBy: Measurement | undefined }[];
  /** The dataset-gen artifact the latency model learnt from, when the report was given it. */
  latencyData: Measurement | undefined;
}

const unique = <T>(xs: T[]) => [...new Set(xs)];

/** What the inputs' manifests say about where each latency was measured, with the run's facts. */
export function buildProvenance(input: ProvenanceInput): Provenance {
  const machines = new Map<string, Machine>();
  const fingerprint = (m: Measurement | undefined): string | null => {
    if (!m?.environment) return null;
    const machine = machineOf(m.environment);
    machines.set(machine.fingerprint, machine);
    return machine.fingerprint;
  };
  const runs = input.runs.map(({ instance, measuredBy }) => ({
    instance,
    stage: measuredBy?.stage ?? null,
    artifact: measuredBy?.artifact ?? '',
    machine: fingerprint(measuredBy),
  }));
  const timers = unique(runs.map((r) => r.machine).filter((m): m is string => m !== null));
  const timingStage = unique(runs.map((r) => r.stage).filter((s): s is string => !!s)).join(', ') || 'retrain-eval';
  const dataMachine = fingerprint(input.latencyData);
  const dataStage = input.latencyData?.stage || 'dataset-gen';
  const measured = (column: string, meaning: string): ColumnSource => ({ column, meaning, stage: timingStage, machines: timers });
  const predicted = (column: string, meaning: string): ColumnSource => ({
    column,
    meaning,
    stage: 'predictor (the latency model)',
    machines: dataMachine ? [dataMachine] : [],
    learntFrom: dataStage,
  });
  const columns = [
    measured('latency_ms', 'the whole network, timed'),
    measured('cells_measured_ms', "the sum over the network's cells, each cell timed alone"),
    predicted('cells_predicted_ms', "the latency model's prediction of cells_measured_ms"),
    predicted('predicted_latency_ms', 'the same as cells_predicted_ms'),
  ];
  const notes: string[] = [];
  const unrecorded = runs.filter((r) => r.machine === null).length;
  if (unrecorded > 0) notes.push(`${unrecorded} of ${runs.length} runs carry no environment in their manifest: where they were timed is not recorded.`);
  if (timers.length > 1) notes.push(`The networks were timed on ${timers.length} different machines (${timers.join(', ')}): their latencies are not comparable with each other.`);
  if (dataMachine && timers.length > 0 && !timers.includes(dataMachine)) {
    notes.push(`The latency model learnt from cells timed on machine ${dataMachine}, but the networks were timed on ${timers.join(', ')}: predicted and measured latency come from different machines.`);
  }
  if (!input.latencyData) notes.push("The report was not given dataset-gen's dataset (input latencyData), so where the latency model's training cells were timed is not shown.");
  return { formatVersion: 1, run: input.run ?? null, machines: [...machines.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)), columns, runs, notes };
}

/** A machine in one line: backend, tfjs, CPU, cores, GPU, platform (what environmentFingerprint records). */
export function describeMachine(m: Machine): string {
  const e = m.environment;
  const text = (key: string) => (e[key] === undefined || e[key] === null ? undefined : String(e[key]));
  const backend = text('backend');
  const threads = text('threads');
  const parts = [
    backend ? `${backend}${threads ? ` (${threads} threads)` : ''}` : undefined,
    text('tfjsVersion') ? `tfjs ${text('tfjsVersion')}` : undefined,
    text('node') ? `Node ${text('node')}` : undefined,
    text('cpuModel') ? `${text('cpuModel')}${text('cpuCores') ? ` × ${text('cpuCores')} cores` : ''}` : undefined,
    `GPU: ${text('gpu') ?? 'none'}`,
    text('platform'),
  ];
  return parts.filter(Boolean).join(', ');
}
