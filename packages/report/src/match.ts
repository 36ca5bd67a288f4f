import { instanceKeys } from '@lenna/core';
import { countOpFamilies, genotypeText, type Genotype, type OpCounts } from './genotype.js';
import { genotypeFromText, genotypeOpCounts } from '@lenna/nn';
import type { ReportRow, RunKind } from './row.js';

/** What retrain-eval's metrics.json holds (the fields the report uses; each may be absent). */
export interface RunMetrics {
  test_acc: number | null;
  val_acc: number | null;
  params: number | null;
  macs: number | null;
  /** The whole network. */
  latency_ms: number | null;
  /** Σ of the latency model over the network's cells. */
  predicted_latency_ms: number | null;
  /** Σ of the network's cells, each timed alone. */
  measured_cells_latency_ms: number | null;
  /** (predicted_latency_ms − measured_cells_latency_ms) / measured_cells_latency_ms. */
  latency_error: number | null;
  n_skip_normal: number | null;
  kind: RunKind | null;
  /** The genotype retrained, in @lenna/nn's text form. */
  genotype: string | null;
}

/** The stage that produced an artifact and the machine it ran on (a measuring stage's manifest records its environment). */
export interface Measurement {
  stage: string | null;
  instance: string | null;
  artifact: string;
  environment: Record<string, unknown> | null;
}

export interface RunInfo {
  id: string;
  instance?: string;
  /** Ids of every input of the run (its manifest's `inputs`), flattened. */
  inputIds: string[];
  metrics: RunMetrics;
  /** Who timed the run's latencies (retrain-eval, from its manifest). */
  measuredBy?: Measurement;
}

export interface SearchSummary {
  lambda?: number;
  seed?: number;
  search_seconds?: number;
  genotype_text?: string;
  /** T of a target search; null (or absent) without a target. */
  target_ms?: number | null;
}

/** One darts-search run: its summary, genotype and history artifacts (any may be absent). */
export interface SearchInfo {
  /** Groups the artifacts of one run (its cache key, else its instance). */
  key: string;
  instance?: string;
  /** Ids of this run's artifacts that the report received. */
  ids: string[];
  params: Record<string, unknown>;
  summary?: SearchSummary;
  genotype?: Genotype;
  curve?: { epoch: number; expected_latency_ms: number }[];
}

/**
 * The search whose cell a run retrained. By ids first (the run's genotype input is one of the
 * search's artifacts: exact); else by instance names, the search whose matrix keys are all among the
 * run's, the most specific one if that is unique (a run's suffix may add keys of its own matrix).
 */
export function matchSearch(run: RunInfo, searches: SearchInfo[]): SearchInfo | undefined {
  // A random cell has no search; a search without matrix keys would otherwise match it by name.
  if (run.metrics.kind === 'random') return undefined;
  const inputs = new Set(run.inputIds);
  const byId = searches.filter((s) => s.ids.some((id) => inputs.has(id)));
  if (byId.length === 1) return byId[0];
  const runKeys = instanceKeys(run.instance);
  const candidates = searches
    .map((search) => ({ search, keys: instanceKeys(search.instance) }))
    .filter(({ keys }) => [...keys].every(([k, v]) => runKeys.get(k) === v));
  const most = Math.max(...candidates.map((c) => c.keys.size));
  const best = candidates.filter((c) => c.keys.size === most);
  return best.length === 1 ? best[0].search : undefined;
}

function numberOrNull(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/** Op counts from a text form that names each edge's op once (ours, and DARTS's Genotype repr). */
export function countOpFamiliesInText(text: string): OpCounts {
  const count = (pattern: RegExp) => text.match(pattern)?.length ?? 0;
  return {
    sep: count(/sep_conv_\w+/g),
    dil: count(/dil_conv_\w+/g),
    pool: count(/\w+_pool_\w+/g),
    skip: count(/skip_connect/g),
  };
}

function parsedText(text: string | null | undefined): Genotype | undefined {
  if (!text) return undefined;
  try {
    return genotypeFromText(text);
  } catch {
    return undefined;
  }
}

/**
 * The cell a run retrained: its own metrics.json's genotype (what retrain-eval trained, searched or
 * random), else its search's genotype.json, else the search summary's text.
 */
export function runGenotype(run: RunInfo, search: SearchInfo | undefined): Genotype | undefined {
  return parsedText(run.metrics.genotype) ?? search?.genotype ?? parsedText(search?.summary?.genotype_text);
}

function cellOf(run: RunInfo, search: SearchInfo | undefined): { genotype: string | null; counts: OpCounts | null; normalSkips: number | null } {
  const parsed = runGenotype(run, search);
  if (parsed) return { genotype: genotypeText(parsed), counts: countOpFamilies(parsed), normalSkips: genotypeOpCounts(parsed).normal.skip };
  // A text the parser does not take (another tool's form) still gives the op counts over both cells.
  const text = run.metrics.genotype ?? search?.summary?.genotype_text;
  return text ? { genotype: text, counts: countOpFamiliesInText(text), normalSkips: null } : { genotype: null, counts: null, normalSkips: null };
}

/** λ and seed of a run: from its search's summary, else the search's params, else the run's instance name. */
function sweepValue(name: 'lambda' | 'seed', run: RunInfo, search: SearchInfo | undefined): number | null {
  return (
    numberOrNull(search?.summary?.[name]) ??
    numberOrNull(search?.params[name]) ??
    numberOrNull(instanceKeys(search?.instance).get(name)) ??
    numberOrNull(instanceKeys(run.instance).get(name))
  );
}

/** T of a target search: its summary's target_ms, else its params (`latencyLoss: target`, `targetMs`). */
function targetMs(search: SearchInfo | undefined): number | null {
  if (!search) return null;
  if (search.summary?.target_ms !== undefined) return search.summary.target_ms ?? null;
  return search.params.latencyLoss === 'target' ? numberOrNull(search.params.targetMs) : null;
}

/** The error retrain-eval reports, else computed from the same two sums (never against the whole network). */
function relativeError(m: RunMetrics): number | null {
  if (m.latency_error !== null) return m.latency_error;
  if (m.measured_cells_latency_ms === null || m.predicted_latency_ms === null || m.measured_cells_latency_ms === 0) return null;
  return (m.predicted_latency_ms - m.measured_cells_latency_ms) / m.measured_cells_latency_ms;
}

export function buildRow(run: RunInfo, search: SearchInfo | undefined): ReportRow {
  const { genotype, counts, normalSkips } = cellOf(run, search);
  const m = run.metrics;
  // As retrain-eval decides: a genotype random-cell did not make is a searched (or published) cell.
  const kind: RunKind = m.kind ?? 'search';
  return {
    instance: run.instance ?? run.id,
    lambda: sweepValue('lambda', run, search),
    seed: sweepValue('seed', run, search),
    test_acc: m.test_acc,
    val_acc: m.val_acc,
    latency_ms: m.latency_ms,
    predicted_latency_ms: m.predicted_latency_ms,
    latency_error: relativeError(m),
    params: m.params,
    macs: m.macs,
    search_seconds: numberOrNull(search?.summary?.search_seconds),
    genotype,
    n_sep: counts?.sep ?? null,
    n_dil: counts?.dil ?? null,
    n_pool: counts?.pool ?? null,
    n_skip: counts?.skip ?? null,
    kind,
    n_skip_normal: m.n_skip_normal ?? normalSkips,
    cells_predicted_ms: m.predicted_latency_ms,
    cells_measured_ms: m.measured_cells_latency_ms,
    target_ms: targetMs(search),
  };
}
