// Forward vs forward+backward time of the DARTS ops at DARTS shapes on every backend present.
// Usage: node bench/kernels.mjs [--json] [--cpu-time] [--backends wasm,cpu] [--ops conv_3x3,sep_conv_3x3]
// Each run reads its results back. Wall time is the median of the runs; CPU time (this process's
// user + system time over all its threads, GC helpers included) is the minimum. --cpu-time puts CPU
// time in the JSON instead of wall time.
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, conv2d, depthwiseConv2d, factorizedReduce, initBackend, registerLennaKernels } from '../dist/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const cpuTime = args.includes('--cpu-time');
const listArg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1].split(',') : undefined;
};

const BATCH = 32;
const SHAPES = [[32, 32, 16], [16, 16, 32], [8, 8, 64]];

/** Batch norm in training mode, affine off, as the DARTS search runs it (LENNA's fused op; its statistics unused here). */
const bn = (x) => batchNormTrain(x, undefined, undefined, () => {});
const he = (shape) => tf.randomNormal(shape, 0, Math.sqrt(2 / shape.slice(0, -1).reduce((a, b) => a * b)));

/** Each op: its weights for c channels, and its forward pass (x, weights, stride). */
const OPS = {
  conv_3x3: {
    weights: (c) => [he([3, 3, c, c])],
    forward: (x, [w], s) => bn(conv2d(tf.relu(x), w, { stride: s, pad: 'same' })),
  },
  sep_conv_3x3: sepConv(3),
  sep_conv_5x5: sepConv(5),
  dil_conv_3x3: dilConv(3),
  dil_conv_5x5: dilConv(5),
  max_pool_3x3: { weights: () => [], forward: (x, _w, s) => tf.maxPool(x, 3, s, 'same') },
  avg_pool_3x3: { weights: () => [], forward: (x, _w, s) => tf.avgPool(x, 3, s, 'same') },
  // As nn's factorizedReduce layer runs it: compute's pair of 1×1 stride-2 convs (the second shifted
  // by a pixel), then BN.
  factorized_reduce: {
    weights: (c) => [he([1, 1, c, c / 2]), he([1, 1, c, c / 2])],
    forward: (x, [w1, w2]) => bn(factorizedReduce(tf.relu(x), w1, w2)),
    reduction: true,
  },
};

function sepConv(k) {
  return {
    weights: (c) => [he([k, k, c, 1]), he([1, 1, c, c]), he([k, k, c, 1]), he([1, 1, c, c])],
    forward: (x, [d1, p1, d2, p2], s) => {
      const a = bn(conv2d(depthwiseConv2d(tf.relu(x), d1, { stride: s, pad: 'same' }), p1, { pad: 0 }));
      return bn(conv2d(depthwiseConv2d(tf.relu(a), d2, { pad: 'same' }), p2, { pad: 0 }));
    },
  };
}

function dilConv(k) {
  return {
    weights: (c) => [he([k, k, c, 1]), he([1, 1, c, c])],
    forward: (x, [d, p], s) => bn(conv2d(depthwiseConv2d(tf.relu(x), d, { stride: s, dilation: 2, pad: 'same' }), p, { pad: 0 })),
  };
}

async function availableBackends() {
  const info = await initBackend({ quiet: true });
  const names = [info.name === 'tensorflow-gpu' || info.name === 'tensorflow' ? 'tensorflow' : info.name];
  if (names[0] !== 'wasm' && tf.findBackendFactory('wasm')) names.push('wasm');
  if (names[0] !== 'cpu') names.push('cpu');
  registerLennaKernels();
  return names;
}

/** Wall and CPU ms of one run of fn, its outputs read back and freed. */
async function once(fn) {
  const start = performance.now(), startCpu = process.cpuUsage();
  const out = tf.tidy(fn);
  const outs = Array.isArray(out) ? out : [out];
  await Promise.all(outs.map((t) => t.data()));
  const used = process.cpuUsage(startCpu);
  tf.dispose(outs);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

/**
 * Median wall ms and minimum CPU ms of each function over `runs` runs after `warmup`. The functions
 * take turns within each run, so a slow spell on this shared machine falls on both sides of a ratio.
 */
async function timeTogether(fns, { warmup, runs }) {
  const samples = fns.map(() => ({ wall: [], cpu: [] }));
  for (let i = 0; i < warmup + runs; i++) {
    for (const [k, fn] of fns.entries()) {
      const t = await once(fn);
      if (i < warmup) continue;
      samples[k].wall.push(t.wall);
      samples[k].cpu.push(t.cpu);
    }
  }
  return samples.map(({ wall, cpu }) => {
    wall.sort((a, b) => a - b);
    return { wallMs: wall[Math.floor(wall.length / 2)], cpuMs: Math.min(...cpu) };
  });
}

// The cpu backend is ~20× slower: fewer repetitions keep the default run near two minutes.
const repsFor = (backend) => (backend === 'cpu' ? { warmup: 1, runs: 2 } : { warmup: 2, runs: 7 });

async function benchOne(backend, opName, [h, w, c], reps = repsFor(backend)) {
  await tf.setBackend(backend);
  const op = OPS[opName];
  const stride = op.reduction ? 2 : 1;
  const x = tf.randomNormal([BATCH, h, w, c]);
  const weights = op.weights(c);
  const forward = () => op.forward(x, weights, stride);
  // Backward from a given dy, as inside a network (no loss op of its own in the timing).
  const dy = tf.tidy(() => tf.randomNormal(forward().shape));
  const grads = tf.grads((xx, ...ws) => op.forward(xx, ws, stride));
  const forwardBackward = () => grads([x, ...weights], dy);
  const [f, fb] = await timeTogether([forward, forwardBackward], reps);
  tf.dispose([x, dy, ...weights]);
  const key = cpuTime ? 'cpuMs' : 'wallMs';
  return {
    row: {
      op: opName,
      shape: [BATCH, h, w, c].join('x'),
      backend,
      forwardMs: round(f[key]),
      forwardBackwardMs: round(fb[key]),
      ratio: round(fb[key] / f[key]),
    },
    cpu: { forwardMs: round(f.cpuMs), forwardBackwardMs: round(fb.cpuMs), ratio: round(fb.cpuMs / f.cpuMs) },
    wall: { forwardMs: round(f.wallMs), forwardBackwardMs: round(fb.wallMs), ratio: round(fb.wallMs / f.wallMs) },
  };
}

const round = (v) => Math.round(v * 100) / 100;

const backends = listArg('--backends') ?? (await availableBackends());
if (listArg('--backends')) await initBackend({ quiet: true });
registerLennaKernels();
const ops = listArg('--ops') ?? Object.keys(OPS);
const rows = [];
const num = (v, n) => String(v).padStart(n);
console.log('                                           ---------- wall ----------   ----------- cpu ----------');
console.log('op                 shape        backend     fwd ms  fwd+bwd ms  ratio     fwd ms  fwd+bwd ms  ratio');
for (const backend of backends) {
  // One untimed pass over every op first, so one-time costs (wasm tier-up, kernel setup) land in no row.
  for (const opName of ops) await benchOne(backend, opName, SHAPES[SHAPES.length - 1], { warmup: 0, runs: 1 });
  for (const opName of ops) {
    for (const shape of SHAPES) {
      const { row, cpu, wall } = await benchOne(backend, opName, shape);
      rows.push(row);
      console.log(
        `${row.op.padEnd(18)} ${row.shape.padEnd(12)} ${row.backend.padEnd(10)}` +
          `${num(wall.forwardMs, 8)} ${num(wall.forwardBackwardMs, 11)} ${num(wall.ratio, 6)}   ` +
          `${num(cpu.forwardMs, 8)} ${num(cpu.forwardBackwardMs, 11)} ${num(cpu.ratio, 6)}`,
      );
    }
  }
}
if (json) console.log(JSON.stringify(rows));
