import { describe, expect, it } from 'vitest';
import { parseGenotype } from '@lenna/nn';
import { instanceKeys } from '@lenna/core';
import { countOpFamilies, genotypeText } from '../src/genotype.js';
import { buildRow, countOpFamiliesInText, matchSearch, type RunInfo, type SearchInfo } from '../src/match.js';

const metrics = { test_acc: 0.9, val_acc: 0.89, params: 10, macs: 20, latency_ms: 2, predicted_latency_ms: 2.5, latency_error: null };
const run = (instance: string, inputIds: string[] = []): RunInfo => ({ id: `run-${instance}`, instance, inputIds, metrics });
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

  it('fills a row from the search (λ, seed, time, cell) and computes a missing relative error', () => {
    const s = { ...search('darts-search@lambda=0.5,seed=7'), summary: { search_seconds: 12.5, genotype_text: "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], reduce=[('max_pool_3x3', 0), ('dil_conv_5x5', 1)])" } };
    const r = buildRow(run('retrain-eval@lambda=0.5,seed=7'), s);
    expect([r.lambda, r.seed, r.search_seconds]).toEqual([0.5, 7, 12.5]);
    expect(r.latency_error).toBeCloseTo((2.5 - 2) / 2, 12);
    expect([r.n_sep, r.n_dil, r.n_pool, r.n_skip]).toEqual([1, 1, 1, 1]);
    const lone = buildRow(run('retrain-eval@lambda=0.3'), undefined);
    expect([lone.lambda, lone.seed, lone.genotype, lone.n_sep]).toEqual([0.3, null, null, null]);
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
