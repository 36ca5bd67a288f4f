import { instance, type Viz } from '@viz-js/viz';
import { parseGenotype, type Genotype } from '@lenna/nn';
import { cellDot, genotypeDot, type CellKind } from './dot.js';

let viz: Promise<Viz> | undefined;

/** Graphviz compiled to WebAssembly, started once per process (no system Graphviz, no network). */
function graphviz(): Promise<Viz> {
  viz ??= instance();
  return viz;
}

async function renderDot(dot: string): Promise<string> {
  const result = (await graphviz()).render(dot, { format: 'svg', engine: 'dot' });
  if (result.status !== 'success') {
    throw new Error(`Graphviz could not lay out a cell diagram: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  return result.output;
}

/** One cell of a genotype as a standalone SVG document. The same genotype gives the same bytes. */
export function cellSvg(genotype: Genotype, cell: CellKind): Promise<string> {
  return renderDot(cellDot(genotype, cell));
}

/** Both cells of a genotype in one SVG document (what `lenna show --svg` writes). */
export function genotypeSvg(genotype: Genotype, title?: string): Promise<string> {
  return renderDot(genotypeDot(genotype, title));
}

/** Validates a genotype.json value (the official DARTS format) with @lenna/nn, then draws it. */
export async function genotypeSvgFromJson(value: unknown, where: string, title?: string): Promise<string> {
  return genotypeSvg(parseGenotype(value, where), title);
}
