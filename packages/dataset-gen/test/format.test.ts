import { describe, expect, test } from 'vitest';
import { formatDuration } from '../src/generate.js';

describe('the log', () => {
  test('durations read as seconds, minutes, then hours', () => {
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(150_000)).toBe('3m');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
  });
});
