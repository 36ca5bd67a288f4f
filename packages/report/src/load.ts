import { readFile } from 'node:fs/promises';
import { readArrowFile, UserError, type InputArtifact } from '@lenna/core';
import { parseGenotype } from './genotype.js';
import type { PredictorMetricsRow } from './html.js';
import type { Measurement, RunInfo, RunMetrics, SearchInfo, SearchSummary } from './match.js';
import type { RunKind } from './row.js';

/** The file an input should hold: `preferred` if present, else its only file ending in `ext`. */
export function pickFile(input: InputArtifact, preferred: string, ext: string, role: string): string {
  if (input.files.includes(preferred)) return input.path(preferred);
  const candidates = input.files.filter((f) => f.endsWith(ext));
  if (candidates.length !== 1) {
    throw new UserError(`Input '${role}' (artifact ${input.id}) should hold ${preferred} or exactly one ${ext} file; it holds ${input.files.join(', ') || 'nothing'}.`);
  }
  return input.path(candidates[0]);
}

/**
 * The store id of an input: a folder handed to `lenna stage` / runStageInProcess has a stand-in id,
 * but its manifest (when it has one) still carries the id other manifests' `inputs` refer to.
 */
function artifactId(input: InputArtifact): string {
  return input.manifest.id || input.id;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); expected the upstream stage's JSON output.`);
  }
}

function asObject(value: unknown, file: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${file} should hold a JSON object; it holds ${Array.isArray(value) ? 'an array' : String(value)}.`);
  }
  return value as Record<string, unknown>;
}

function optionalNumber(object: Record<string, unknown>, key: string, file: string): number | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UserError(`${file}: '${key}' is ${JSON.stringify(value)}; expected a finite number.`);
  }
  return value;
}

const METRIC_KEYS = ['test_acc', 'val_acc', 'params', 'macs', 'latency_ms', 'predicted_latency_ms', 'measured_cells_latency_ms', 'latency_error', 'n_skip_normal'] as const;

function optionalString(object: Record<string, unknown>, key: string, file: string): string | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new UserError(`${file}: '${key}' is ${JSON.stringify(value)}; expected a string.`);
  return value;
}

function runKind(object: Record<string, unknown>, file: string): RunKind | null {
  const kind = optionalString(object, 'kind', file);
  if (kind !== null && kind !== 'search' && kind !== 'random') {
    throw new UserError(`${file}: 'kind' is ${JSON.stringify(kind)}; expected "search" or "random" (retrain-eval writes one of them).`);
  }
  return kind;
}

export async function loadRun(input: InputArtifact): Promise<RunInfo> {
  const file = pickFile(input, 'metrics.json', '.json', 'runs');
  const object = asObject(await readJson(file), file);
  const numbers = Object.fromEntries(METRIC_KEYS.map((k) => [k, optionalNumber(object, k, file)]));
  const metrics = { ...numbers, kind: runKind(object, file), genotype: optionalString(object, 'genotype', file) } as unknown as RunMetrics;
  return {
    id: artifactId(input),
    instance: input.instance,
    inputIds: Object.values(input.manifest.inputs ?? {}).flat(),
    metrics,
    measuredBy: measurement(input),
  };
}

/** Who timed an artifact: its stage, instance and the environment its manifest records (a `measures` stage's). */
export function measurement(input: InputArtifact): Measurement {
  const m = input.manifest;
  return { stage: m.stage || null, instance: input.instance ?? null, artifact: artifactId(input), environment: m.environment ?? null };
}

async function loadSummary(input: InputArtifact): Promise<SearchSummary> {
  const file = pickFile(input, 'summary.json', '.json', 'searches');
  const object = asObject(await readJson(file), file);
  const text = object.genotype_text;
  return {
    lambda: optionalNumber(object, 'lambda', file) ?? undefined,
    seed: optionalNumber(object, 'seed', file) ?? undefined,
    search_seconds: optionalNumber(object, 'search_seconds', file) ?? undefined,
    genotype_text: typeof text === 'string' ? text : undefined,
    // darts-search writes target_ms (a number, or null without a target) from its version with latencyLoss: target on.
    target_ms: optionalNumber(object, 'target_ms', file),
  };
}

/** E[lat] per epoch from darts-search's history.arrow. */
export async function loadCurve(input: InputArtifact): Promise<{ epoch: number; expected_latency_ms: number }[]> {
  const file = pickFile(input, 'history.arrow', '.arrow', 'histories');
  const table = await readArrowFile(file);
  const epoch = table.getChild('epoch');
  const latency = table.getChild('expected_latency_ms');
  if (!epoch || !latency) {
    const has = table.schema.fields.map((f) => f.name).join(', ');
    throw new UserError(`${file} lacks column '${epoch ? 'expected_latency_ms' : 'epoch'}' (it has ${has}); darts-search's history needs epoch and expected_latency_ms.`);
  }
  const points: { epoch: number; expected_latency_ms: number }[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const e = Number(epoch.get(i));
    const l = Number(latency.get(i));
    if (Number.isFinite(e) && Number.isFinite(l)) points.push({ epoch: e, expected_latency_ms: l });
  }
  return points;
}

/**
 * Artifacts of one darts-search run share its producing instance (else its cache key; else their
 * position in the gather). The instance comes first: two λ whose searches wrote identical bytes
 * share one artifact and cache key, yet are two rows of the table.
 */
function searchKey(input: InputArtifact, index: number): string {
  return input.instance || input.manifest.cacheKey || `#${index}`;
}

export interface SearchInputs {
  searches?: InputArtifact[];
  genotypes?: InputArtifact[];
  histories?: InputArtifact[];
}

export async function loadSearches(inputs: SearchInputs): Promise<SearchInfo[]> {
  const byKey = new Map<string, SearchInfo>();
  const entry = (input: InputArtifact, index: number): SearchInfo => {
    const key = searchKey(input, index);
    let search = byKey.get(key);
    if (!search) {
      const params = input.manifest.params;
      search = { key, instance: input.instance, ids: [], params: typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {} };
      byKey.set(key, search);
    }
    search.ids.push(artifactId(input));
    return search;
  };
  for (const [i, input] of (inputs.searches ?? []).entries()) entry(input, i).summary = await loadSummary(input);
  for (const [i, input] of (inputs.genotypes ?? []).entries()) {
    const file = pickFile(input, 'genotype.json', '.json', 'genotypes');
    entry(input, i).genotype = parseGenotype(await readJson(file), file);
  }
  for (const [i, input] of (inputs.histories ?? []).entries()) entry(input, i).curve = await loadCurve(input);
  return [...byKey.values()];
}

function metricsRows(value: unknown, file: string): unknown[] {
  if (Array.isArray(value)) return value;
  const object = asObject(value, file);
  for (const key of ['rows', 'models', 'metrics']) if (Array.isArray(object[key])) return object[key] as unknown[];
  return [object];
}

/** The predictor's metrics.json: an array of rows (or {rows: [...]}, or one row), plain values only. */
export async function loadPredictorMetrics(input: InputArtifact): Promise<PredictorMetricsRow[]> {
  const file = pickFile(input, 'metrics.json', '.json', 'predictorMetrics');
  return metricsRows(await readJson(file), file).map((row) => {
    const out: PredictorMetricsRow = {};
    for (const [k, v] of Object.entries(asObject(row, file))) {
      if (typeof v === 'number' || typeof v === 'string' || v === null) out[k] = v;
    }
    return out;
  });
}

export async function loadParitySvg(input: InputArtifact): Promise<string> {
  return readFile(pickFile(input, 'parity.svg', '.svg', 'parity'), 'utf8');
}
