import { describe, expect, it } from 'vitest';
import { parseGenotype } from '@lenna/nn';
import { buildRow, countOpFamiliesInText, matchSearch, runGenotype, type RunInfo, type RunMetrics, type SearchInfo } from '../src/match.js';
import { countOpFamilies, genotypeText } from '../src/genotype.js';
import { instanceKeys } from '@lenna/core';

const metrics: RunMetrics = {
  test_acc: 0.9,
  val_acc: 0.89,
  params: 10,
  macs: 20,
  latency_ms: 2,
  predicted_latency_ms: 2.5,
  measured_cells_latency_ms: 1.6,
  latency_error: null,
  n_skip_normal: null,
  kind: null,
  genotype: null,
};
const run = (instance: string, inputIds: string[] = [], extra: Partial<RunMetrics> = {}): RunInfo => ({ id: `run-${instance}`, instance, inputIds, metrics: { ...metrics, ...extra } });
const search = (instance: string, ids: string[] = []): SearchInfo => ({ key: instance, instance, ids, params: {} });

describe('matching runs to searches', () => {
  it('prefers ids: the run’s genotype input is one of the search’s artifacts', () => {
    const searches = [search('darts-search@lambda=0.1', ['g1']), search('darts-search@lambda=0.2', ['g2'])];
    // The instance name says 0.1 but the ids say 0.2: ids win.
    expect(matchSearch(run('retrain-eval@lambda=0.1', ['model', 'g2']), searches)?.instance).toBe('darts-search@lambda=0.2');
  });

  it('falls back to instance names, the most specific search whose keys the run carries', () => {
    const searches = [search('darts-search@lambda=0.1'), search('darts-search@lambda=0.1,seed=2'), search('darts-search@lambda=0.1,seed=3')];
    expect(matchSearch(run('retrain-eval@lambda=0.1,seed=2,epochs=5'), searches)?.instance).toBe('darts-search@lambda=0.1,seed=2');
    expect(matchSearch(run('retrain-eval@lambda=0.1'), searches)?.instance).toBe('darts-search@lambda=0.1');
    expect(matchSearch(run('retrain-eval@lambda=0.3'), searches)).toBeUndefined();
  });

  it('matches an un-swept search to every run, and none when two are equally specific', () => {
    expect(matchSearch(run('retrain-eval@seed=1'), [search('darts-search')])?.instance).toBe('darts-search');
    expect(matchSearch(run('retrain-eval'), [search('darts-search@lambda=0'), search('darts-search@lambda=1')])).toBeUndefined();
  });

  it('parses instance suffixes', () => {
    expect([...instanceKeys('darts-search@lambda=0.1,seed=2')]).toEqual([['lambda', '0.1'], ['seed', '2']]);
    expect(instanceKeys('report').size).toBe(0);
  });

  it('fills a row from the search (λ, seed, time, cell) and computes a missing relative error against the cells, not the network', () => {
    const s = { ...search('darts-search@lambda=0.5,seed=7'), summary: { search_seconds: 12.5, genotype_text: "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], reduce=[('max_pool_3x3', 0), ('dil_conv_5x5', 1)])" } };
    const r = buildRow(run('retrain-eval@lambda=0.5,seed=7'), s);
    expect([r.lambda, r.seed, r.search_seconds]).toEqual([0.5, 7, 12.5]);
    // Predicted 2.5 against the cells measured 1.6 (the network's 2 ms is another quantity).
    expect(r.latency_error).toBeCloseTo((2.5 - 1.6) / 1.6, 12);
    expect([r.cells_predicted_ms, r.cells_measured_ms, r.latency_ms]).toEqual([2.5, 1.6, 2]);
    expect([r.n_sep, r.n_dil, r.n_pool, r.n_skip]).toEqual([1, 1, 1, 1]);
    expect([r.kind, r.target_ms]).toEqual(['search', null]);
    const lone = buildRow(run('retrain-eval@lambda=0.3'), undefined);
    expect([lone.lambda, lone.seed, lone.genotype, lone.n_sep]).toEqual([0.3, null, null, null]);
  });

  it('takes T from the search summary, else from a target search’s params; null for a penalty search', () => {
    const summary = (target_ms: number | null) => ({ ...search('darts-search@seed=1'), summary: { target_ms } });
    expect(buildRow(run('retrain-eval@seed=1'), summary(5)).target_ms).toBe(5);
    expect(buildRow(run('retrain-eval@seed=1'), summary(null)).target_ms).toBeNull();
    const byParams = { ...search('darts-target'), params: { latencyLoss: 'target', targetMs: 4.5, lambda: 1 } };
    expect(buildRow(run('retrain-target'), byParams).target_ms).toBe(4.5);
    const penalty = { ...search('darts-search'), params: { latencyLoss: 'penalty', targetMs: 4.5 } };
    expect(buildRow(run('retrain-eval'), penalty).target_ms).toBeNull();
  });

  it('never matches a random cell to a search, and draws the genotype the run itself trained', () => {
    const text = 'N: skip_connect(0) skip_connect(1) | max_pool_3x3(0) skip_connect(2) ; R: avg_pool_3x3(0) sep_conv_3x3(1) | dil_conv_3x3(1) skip_connect(2)';
    const random = run('retrain-random@index=3', [], { kind: 'random', genotype: text, n_skip_normal: 3 });
    expect(matchSearch(random, [search('darts-search')])).toBeUndefined();
    const row = buildRow(random, undefined);
    expect([row.kind, row.lambda, row.n_skip_normal, row.n_skip]).toEqual(['random', null, 3, 4]);
    expect(runGenotype(random, undefined)?.normal).toEqual([['skip_connect', 0], ['skip_connect', 1], ['max_pool_3x3', 0], ['skip_connect', 2]]);
    // Without n_skip_normal in the metrics, it is counted from the genotype.
    expect(buildRow(run('retrain-random@index=4', [], { kind: 'random', genotype: text }), undefined).n_skip_normal).toBe(3);
  });
});

describe('genotype text and counts', () => {
  const genotype = parseGenotype(
    {
      normal: [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['skip_connect', 0], ['dil_conv_3x3', 2], ['avg_pool_3x3', 1], ['skip_connect', 3], ['sep_conv_3x3', 0], ['max_pool_3x3', 4]],
      normal_concat: [2, 3, 4, 5],
      reduce: [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['dil_conv_5x5', 2], ['skip_connect', 0], ['avg_pool_3x3', 3], ['sep_conv_5x5', 1], ['max_pool_3x3', 4], ['skip_connect', 2]],
      reduce_concat: [2, 3, 4, 5],
    },
    'genotype.json',
  );

  it('counts op families over both cells (by hand: 4 sep, 2 dil, 6 pool, 4 skip)', () => {
    expect(countOpFamilies(genotype)).toEqual({ sep: 4, dil: 2, pool: 6, skip: 4 });
  });

  it('writes one line per genotype whose op names count the same', () => {
    const text = genotypeText(genotype);
    expect(text.startsWith('N: sep_conv_3x3(0) sep_conv_5x5(1) | skip_connect(0) dil_conv_3x3(2) | ')).toBe(true);
    expect(text).not.toMatch(/\n/);
    expect(countOpFamiliesInText(text)).toEqual(countOpFamilies(genotype));
  });

  it('names the file and the bad key of a malformed genotype', () => {
    expect(() => parseGenotype({ normal: [['sep_conv_3x3', 'zero']] }, 'g/genotype.json')).toThrow(/g\/genotype\.json is not a DARTS genotype at normal/);
  });
});
