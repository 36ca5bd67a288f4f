import { describe, expect, it } from 'vitest';
import { paritySpec, paritySvg } from '../src/parity.js';

describe('parity plot', () => {
  const points = [
    { model: 'mlp', measured: 1, predicted: 1.05 },
    { model: 'mlp', measured: 10, predicted: 9 },
    { model: 'lut', measured: 1, predicted: 0.7 },
    { model: 'ridge', measured: 100, predicted: 120 },
  ];

  it('renders an SVG in Node with one legend entry per model and the ±10% band', async () => {
    const svg = await paritySvg(points);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const label of ['mlp', 'lut', 'ridge', 'measured latency (ms)', 'predicted latency (ms)', '±10%']) expect(svg).toContain(label);
    expect(svg).toContain('for a log scale');
    // One point symbol per point, coloured by model (one fill per model).
    const symbols = svg.match(/aria-roledescription="point"[^>]*fill="[^"]+"/g) ?? [];
    expect(symbols).toHaveLength(points.length);
    expect(new Set(symbols.map((s) => /fill="([^"]+)"/.exec(s)![1])).size).toBe(3);
  });

  it('uses log scales spanning every value and draws the band at ±10% of y = x', () => {
    const spec = JSON.stringify(paritySpec(points));
    expect(spec).toContain('"type":"log"');
    const layer = (paritySpec(points) as { layer: { data: { values: { measured: number; lo: number; hi: number }[] } }[] }).layer[0];
    for (const v of layer.data.values) {
      expect(v.lo).toBeCloseTo(0.9 * v.measured, 12);
      expect(v.hi).toBeCloseTo(1.1 * v.measured, 12);
    }
    expect(layer.data.values[0].measured).toBeLessThan(0.7);
    expect(layer.data.values.at(-1)!.measured).toBeGreaterThan(120);
  });
});
