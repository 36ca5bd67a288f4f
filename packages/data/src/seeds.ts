/**
 * Independent seeds for the separate random jobs one user seed drives (generating, splitting,
 * shuffling, augmenting), so that changing how one job draws numbers never shifts another.
 */
export function deriveSeed(seed: number, purpose: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
