import { instanceKeys } from '@lenna/core';
import { countOpFamilies, genotypeText, type Genotype, type OpCounts } from './genotype.js';
import type { ReportRow } from './row.js';

/** What retrain-eval's metrics.json holds (the fields the report uses). */
export interface RunMetrics {
  test_acc: number | null;
  val_acc: number | null;
  params: number | null;
  macs: number | null;
  latency_ms: number | null;
  predicted_latency_ms: number | null;
  latency_error: number | null;
}

export interface RunInfo {
  id: string;
  instance?: string;
  /** Ids of every input of the run (its manifest's `inputs`), flattened. */
  inputIds: string[];
  metrics: RunMetrics;
}

export interface SearchSummary {
  lambda?: number;
  seed?: number;
  search_seconds?: number;
  genotype_text?: string;
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

function cellOf(search: SearchInfo | undefined): { genotype: string | null; counts: OpCounts | null } {
  if (search?.genotype) return { genotype: genotypeText(search.genotype), counts: countOpFamilies(search.genotype) };
  const text = search?.summary?.genotype_text;
  return text ? { genotype: text, counts: countOpFamiliesInText(text) } : { genotype: null, counts: null };
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

function relativeError(m: RunMetrics): number | null {
  if (m.latency_error !== null) return m.latency_error;
  if (m.latency_ms === null || m.predicted_latency_ms === null || m.latency_ms === 0) return null;
  return (m.predicted_latency_ms - m.latency_ms) / m.latency_ms;
}

export function buildRow(run: RunInfo, search: SearchInfo | undefined): ReportRow {
  const { genotype, counts } = cellOf(search);
  const m = run.metrics;
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
  };
}
