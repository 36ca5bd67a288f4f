import type { ReportRow } from './row.js';

export interface Dominance {
  /** Searched and random rows with both a test accuracy and a measured network latency. */
  searched: number;
  random: number;
  /** Random rows some searched row dominates, by instance. */
  dominated: string[];
  undominated: string[];
  /** dominated / random; null without random rows. */
  fraction: number | null;
  /** One sentence for the page and the log, true whatever the answer. */
  sentence: string;
}

export const DOMINANCE_DEFINITION =
  'a random cell is dominated when some searched cell has at least its test accuracy and at most its measured network latency (latency_ms), and is strictly better in one of the two';

type Point = Pick<ReportRow, 'test_acc' | 'latency_ms'> & { test_acc: number; latency_ms: number };

const timed = (r: ReportRow): r is ReportRow & Point => r.test_acc !== null && r.latency_ms !== null;

export function dominates(a: Point, b: Point): boolean {
  return a.test_acc >= b.test_acc && a.latency_ms <= b.latency_ms && (a.test_acc > b.test_acc || a.latency_ms < b.latency_ms);
}

const percent = (x: number) => `${Math.round(100 * x)}%`;

/**
 * Does search beat chance: how many random cells the searched cells dominate. A random cell that a
 * searched cell dominates is also dominated by a cell of the searched Pareto front (the front
 * dominates or equals every searched cell), so the sentence can name the front.
 */
export function searchDominance(rows: ReportRow[]): Dominance {
  const searched = rows.filter((r) => r.kind === 'search').filter(timed);
  const random = rows.filter((r) => r.kind === 'random').filter(timed);
  const dominated = random.filter((r) => searched.some((s) => dominates(s, r))).map((r) => r.instance);
  const undominated = random.map((r) => r.instance).filter((i) => !dominated.includes(i));
  const fraction = random.length > 0 ? dominated.length / random.length : null;
  let sentence: string;
  if (random.length === 0) sentence = 'No random cell was retrained, so the report cannot say whether the search beats chance.';
  else if (searched.length === 0) sentence = `No searched cell has both an accuracy and a latency to set against the ${random.length} random cells.`;
  else {
    const cells = random.length === 1 ? 'random cell' : 'random cells';
    sentence = `The searched Pareto front dominates ${dominated.length} of ${random.length} ${cells} (${percent(fraction as number)}).`;
  }
  return { searched: searched.length, random: random.length, dominated, undominated, fraction, sentence };
}
