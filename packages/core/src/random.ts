/**
 * A small seeded generator (xoshiro128**) whose whole state is four 32-bit words, so a
 * checkpoint can save it and a resumed run continues the very same sequence.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller; no cached second value, so the state alone describes the stream). */
  normal(): number;
  /** Index drawn with the given (non-negative, not necessarily normalised) weights. */
  categorical(weights: ArrayLike<number>): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  getState(): number[];
  setState(state: number[]): void;
}

/**
 * An independent seed for one random job that a user's seed drives (initialising weights, shuffling,
 * splitting, augmenting, one dataset row), named by its purpose: changing how one job draws numbers
 * never shifts another's, and no two jobs share a stream. FNV-1a over the purpose, started from the seed.
 */
export function deriveSeed(seed: number, purpose: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRng(seed: number): Rng {
  const init = splitMix32(seed);
  const s = new Uint32Array([init(), init(), init(), init()]);
  if (s.every((w) => w === 0)) s[0] = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };

  const next = (): number => nextU32() / 4294967296;

  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    categorical: (weights) => {
      let total = 0;
      for (let i = 0; i < weights.length; i++) total += weights[i];
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i];
        if (r < 0) return i;
      }
      // Rounding can leave r a hair above zero: fall back to the last index with weight.
      for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
      return weights.length - 1;
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
    getState: () => Array.from(s),
    setState: (state) => {
      if (state.length !== 4) throw new Error(`An RNG state has 4 words, got ${state.length}.`);
      s.set(state.map((w) => w >>> 0));
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
