import { cellEdgeCount, cellSvg, type CellKind } from '@lenna/cell-diagram';
import { sha256Hex } from '@lenna/core';
import type { Genotype } from './genotype.js';

export const CELL_KINDS: readonly CellKind[] = ['normal', 'reduce'];

const MAX_STEM = 96;

/**
 * A file name stem for an instance id: `retrain-eval@lambda=0.1,seed=2` → `retrain-eval-lambda-0.1-seed-2`
 * (`@ = ,` become `-`, anything but letters, digits, `.`, `_` and `-` becomes `_`). Portable on every
 * file system and in LaTeX's \includegraphics.
 */
export function sanitizeStem(instance: string): string {
  const stem = instance
    .replace(/[@=,]/g, '-')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[.-]+/, '');
  return stem || 'run';
}

/**
 * One stem per instance, unique even on a case-insensitive file system: stems that collide (or are
 * too long) get the first 8 hex digits of the instance id's sha256, so the name depends only on the id.
 */
export function cellFileStems(instances: string[]): Map<string, string> {
  const stems = new Map(instances.map((i) => [i, sanitizeStem(i)]));
  const count = new Map<string, number>();
  for (const stem of stems.values()) count.set(stem.toLowerCase(), (count.get(stem.toLowerCase()) ?? 0) + 1);
  for (const [instance, stem] of stems) {
    if ((count.get(stem.toLowerCase()) ?? 0) > 1 || stem.length > MAX_STEM) {
      stems.set(instance, `${stem.slice(0, MAX_STEM)}-${sha256Hex(instance).slice(0, 8)}`);
    }
  }
  return stems;
}

/** The diagrams of one run: file name and SVG per cell. */
export interface RunCells {
  instance: string;
  files: Record<CellKind, string>;
  svgs: Record<CellKind, string>;
  /** Edges drawn per cell (kept ops + concatenated states), for readers that check the drawing. */
  edges: Record<CellKind, number>;
  genotype: Genotype;
}

/** Both cells of every run with a known genotype, in the runs' order. */
export async function drawRunCells(runs: { instance: string; genotype: Genotype | undefined }[]): Promise<RunCells[]> {
  const stems = cellFileStems(runs.map((r) => r.instance));
  const drawn: RunCells[] = [];
  for (const { instance, genotype } of runs) {
    if (!genotype) continue;
    const stem = stems.get(instance) as string;
    drawn.push({
      instance,
      genotype,
      files: { normal: `${stem}-normal.svg`, reduce: `${stem}-reduce.svg` },
      svgs: { normal: await cellSvg(genotype, 'normal'), reduce: await cellSvg(genotype, 'reduce') },
      edges: { normal: cellEdgeCount(genotype, 'normal'), reduce: cellEdgeCount(genotype, 'reduce') },
    });
  }
  return drawn;
}
