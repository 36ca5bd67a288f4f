import { expect, it } from 'vitest';
import { markdownTable } from '../src/index.js';

it('writes a Markdown table with numeric columns right-aligned and pipes in cells escaped', () => {
  const text = markdownTable([{ name: 'op', numeric: false }, { name: 'ms', numeric: true }], [['a|b', '1.5'], ['c', '']]);
  expect(text).toBe('| op | ms |\n| --- | ---: |\n| a\\|b | 1.5 |\n| c |  |\n');
});
