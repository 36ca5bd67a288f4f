import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ParityPoint {
  model: string;
  measured: number;
  predicted: number;
}

/** Points of the y = x line and the ±`band` corridor around it, spaced evenly on a log axis. */
function bandValues(min: number, max: number, band: number): { measured: number; lo: number; hi: number }[] {
  const steps = 40;
  return Array.from({ length: steps + 1 }, (_, i) => {
    const measured = min * (max / min) ** (i / steps);
    return { measured, lo: measured * (1 - band), hi: measured * (1 + band) };
  });
}

/** The vega-lite spec of the parity plot: log axes, one colour per model, the ±band corridor shaded. */
export function paritySpec(points: ParityPoint[], band = 0.1): TopLevelSpec {
  const values = points.flatMap((p) => [p.measured, p.predicted]).filter((v) => v > 0 && Number.isFinite(v));
  const min = Math.min(...values) / 1.2;
  const max = Math.max(...values) * 1.2;
  const scale = { type: 'log' as const, domain: [min, max] };
  const x = { field: 'measured', type: 'quantitative' as const, scale, title: 'measured latency (ms)' };
  const corridor = bandValues(min, max, band);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Predicted vs measured cell latency (test split)', subtitle: `shaded: within ±${Math.round(band * 100)}% of the measurement` },
    width: 420,
    height: 420,
    background: 'white',
    layer: [
      {
        data: { values: corridor },
        mark: { type: 'area', color: '#999999', opacity: 0.2, clip: true },
        encoding: { x, y: { field: 'lo', type: 'quantitative', scale }, y2: { field: 'hi' } },
      },
      {
        data: { values: corridor },
        mark: { type: 'line', color: '#555555', strokeDash: [4, 3], clip: true },
        encoding: { x, y: { field: 'measured', type: 'quantitative', scale } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, opacity: 0.55, size: 18, clip: true },
        encoding: {
          x,
          y: { field: 'predicted', type: 'quantitative', scale, title: 'predicted latency (ms)' },
          color: { field: 'model', type: 'nominal', title: 'model' },
          shape: { field: 'model', type: 'nominal' },
        },
      },
    ],
  };
}

/** Render the parity plot to SVG in Node (vega View with no renderer: no browser, no canvas). */
export async function paritySvg(points: ParityPoint[], band = 0.1): Promise<string> {
  const view = new vega.View(vega.parse(compile(paritySpec(points, band)).spec), { renderer: 'none' });
  try {
    // vega numbers clip paths with a process-wide counter: reset it so the bytes do not depend on
    // what this process rendered before.
    vega.resetSVGDefIds();
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
