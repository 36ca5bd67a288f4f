import { describe, expect, it } from 'vitest';
import { renderPlots } from '../src/plots.js';
import type { ReportRow } from '../src/row.js';
import { prefixSvgIds, svgElement } from '../src/svg.js';

describe('SVG plots', () => {
  it('prefixes ids and every reference to them', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath><linearGradient id="gradient_0"/></defs><g clip-path="url(#clip1)" fill="url(#gradient_0)"><use href="#clip1"/></g></svg>';
    expect(prefixSvgIds(svg, 'p')).toBe(
      '<svg><defs><clipPath id="p-clip1"><rect/></clipPath><linearGradient id="p-gradient_0"/></defs><g clip-path="url(#p-clip1)" fill="url(#p-gradient_0)"><use href="#p-clip1"/></g></svg>',
    );
  });

  it('strips the XML prolog for inlining and refuses a file without <svg>', () => {
    expect(svgElement('<?xml version="1.0"?>\n<!-- x -->\n<svg a="1"><g/></svg>\n', 'f.svg')).toBe('<svg a="1"><g/></svg>');
    expect(() => svgElement('<html></html>', 'parity.svg')).toThrow(/parity\.svg holds no <svg>/);
  });

  it('renders the same bytes twice, labels points by λ, and leaves out plots without data', async () => {
    const row = (lambda: number, latency: number, acc: number): ReportRow => ({
      instance: `r${lambda}`, lambda, seed: 1, test_acc: acc, val_acc: acc, latency_ms: latency, predicted_latency_ms: null, latency_error: null,
      params: 1, macs: 1, search_seconds: 1, genotype: null, n_sep: 0, n_dil: 0, n_pool: 0, n_skip: 0,
      kind: 'search', n_skip_normal: 0, cells_predicted_ms: null, cells_measured_ms: null, target_ms: null,
    });
    const rows = [row(0, 5, 0.97), row(0.25, 2, 0.93)];
    const first = await renderPlots(rows, { curves: [] });
    const second = await renderPlots(rows, { curves: [] });
    expect(Object.keys(first)).toEqual(['accuracy-latency.svg']);
    expect(second).toEqual(first);
    expect(first['accuracy-latency.svg']).toContain('λ=0.25');
    expect(first['accuracy-latency.svg']).toContain('searched, on the front');
  });
});
