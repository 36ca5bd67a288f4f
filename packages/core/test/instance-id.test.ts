import { describe, expect, it } from 'vitest';
import { formatInstanceId, instanceKeys, instanceStage } from '../src/index.js';

describe('instance ids', () => {
  it('name a swept instance by its matrix values and read them back, commas inside values included', () => {
    const id = formatInstanceId('predictor', [['hidden', '64,64'], ['darts-search.lambda', '0.1']]);
    expect(id).toBe('predictor@hidden=64,64,darts-search.lambda=0.1');
    expect([...instanceKeys(id)]).toEqual([['hidden', '64,64'], ['darts-search.lambda', '0.1']]);
    expect(instanceStage(id)).toBe('predictor');
  });

  it('leave an unswept instance as its stage id, with no keys', () => {
    expect(formatInstanceId('report', [])).toBe('report');
    expect(instanceKeys('report').size).toBe(0);
    expect(instanceKeys(undefined).size).toBe(0);
    expect(instanceStage('report')).toBe('report');
  });
});
