import * as tf from '@tensorflow/tfjs';
import { KernelGraph } from './graph.js';
import { avgPoolGrad, conv2DBackpropFilter, conv2DBackpropInput, depthwiseBackpropInput } from './conv-grads.js';
import { avgPoolGradKernel, conv2DBackpropFilterKernel, depthwiseBackpropFilterKernel, maxPoolGradKernel } from './js-kernels.js';
import { cpuSlice, cpuSplitV } from './cpu-slice.js';
import { cpuPad } from './cpu-pad.js';
import { cpuTranspose } from './cpu-transpose.js';
import { cpuBinary, cpuRelu, cpuStep } from './cpu-elementwise.js';
import { leadingAxesReduce } from './leading-reduce.js';
import { channelBroadcast } from './channel-broadcast.js';
import { registerReduceGradients } from './reduce-grads.js';
import { registerReluGradient, RELU_GRAD_KERNEL, reluGradKernel } from './relu-grad.js';
import { FACTORIZED_REDUCE_GRAD, factorizedReduceGradKernel } from './factorized-reduce-grad.js';

type GraphBuilder = (g: KernelGraph, a: tf.TensorInfo, b: tf.TensorInfo, attrs: never) => tf.TensorInfo;

/** A kernel composed of the backend's own fast forward kernels: [first input, second input, builder]. */
function composed(first: string, second: string, build: GraphBuilder): (backendName: string) => tf.KernelFunc {
  return (backendName) =>
    ({ inputs, backend, attrs }) => {
      const g = new KernelGraph(backend as tf.KernelBackend, backendName);
      return build(g, inputs[first] as tf.TensorInfo, inputs[second] as tf.TensorInfo, attrs as never);
    };
}

/**
 * What LENNA registers, and why:
 * - Conv2DBackpropFilter: missing on wasm, a naive loop on cpu → one register-tiled SIMD pass over x and dy
 *   (filter-grad-simd.ts); where output channels are not a multiple of 4, a convolution over transposed
 *   tensors (a matrix product for 1×1).
 * - LennaReluGrad: ReLU's gradient in one pass instead of Step then Multiply (relu-grad.ts).
 * - LennaFactorizedReduceGrad: factorizedReduce's gradient, only the two taps that hold weights.
 * - Conv2DBackpropInput: → a convolution of the zero-spread dy with the flipped filter, on the fast forward kernel.
 * - DepthwiseConv2dNativeBackpropInput: missing on wasm → likewise with the depthwise forward kernel.
 * - DepthwiseConv2dNativeBackpropFilter: missing on wasm; no forward kernel expresses it cheaply → one loop.
 * - MaxPoolGrad: slow on wasm and cpu → one loop.
 * - AvgPoolGrad: slow, and wrong at 'same' borders (divides by the full window) → on wasm a depthwise
 *   transposed convolution with a ones filter, on cpu (whose depthwise kernel is a loop anyway) one loop.
 * The loops' stride-1 cases run as WebAssembly SIMD (simd.ts) on both backends.
 * Both: Sum/Mean over leading axes (leading-reduce.ts). wasm: Identity and same-dtype Cast (see
 * sharedIdentity). Both: Multiply/Add/Sub by a per-channel vector (channel-broadcast.ts); Slice and SplitV as
 * contiguous-run copies (cpu-slice.ts). cpu: PadV2 likewise (cpu-pad.ts; tfjs-wasm's own pad is fine), and
 * Transpose (cpu-transpose.ts); Multiply/Add/Sub of equal shapes or by a scalar, Step and Relu as plain
 * loops (cpu-elementwise.ts).
 */
const KERNELS: Record<string, (backendName: string) => tf.KernelFunc> = {
  Conv2DBackpropFilter: (backendName) => conv2DBackpropFilterKernel(composed('x', 'dy', conv2DBackpropFilter as GraphBuilder)(backendName)),
  Conv2DBackpropInput: composed('dy', 'filter', conv2DBackpropInput as GraphBuilder),
  DepthwiseConv2dNativeBackpropInput: composed('dy', 'filter', depthwiseBackpropInput as GraphBuilder),
  DepthwiseConv2dNativeBackpropFilter: () => depthwiseBackpropFilterKernel as tf.KernelFunc,
  MaxPoolGrad: () => maxPoolGradKernel as tf.KernelFunc,
  [RELU_GRAD_KERNEL]: reluGradKernel,
  [FACTORIZED_REDUCE_GRAD]: factorizedReduceGradKernel,
  AvgPoolGrad: (backendName) =>
    backendName === 'wasm' ? composed('dy', 'input', avgPoolGrad as GraphBuilder)(backendName) : (avgPoolGradKernel as tf.KernelFunc),
};

/**
 * tfjs clones every tensor a gradient saves (and tf.clone, tf.identity) through the Identity kernel;
 * tfjs-wasm copies the whole buffer there, while tensors are immutable, so sharing it with a
 * reference count (as the cpu backend and tfjs-wasm's own Reshape do) is enough.
 */
const sharedIdentity: tf.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Cast to the dtype a tensor already has is the same copy on tfjs-wasm (tf.grads does it for every dy). */
function sharedSameTypeCast(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    return (args.attrs as { dtype?: string } | undefined)?.dtype === x.dtype ? sharedIdentity(args) : original(args);
  };
}

/** Kernels replaced on one backend only, each built around the backend's original. */
const BACKEND_FIXES: Record<string, Record<string, (original: tf.KernelFunc) => tf.KernelFunc>> = {
  wasm: {
    Identity: () => sharedIdentity,
    Slice: cpuSlice,
    SplitV: cpuSplitV,
    Cast: sharedSameTypeCast,
    Multiply: (original) => channelBroadcast(original, 'mul', 'wasm'),
    Add: (original) => channelBroadcast(original, 'add', 'wasm'),
    Sub: (original) => channelBroadcast(original, 'sub', 'wasm'),
    Sum: (original) => leadingAxesReduce(original, 'sum', 'wasm'),
    Mean: (original) => leadingAxesReduce(original, 'mean', 'wasm'),
  },
  cpu: {
    Slice: cpuSlice,
    SplitV: cpuSplitV,
    PadV2: cpuPad,
    Transpose: cpuTranspose,
    Multiply: (original) => cpuBinary(channelBroadcast(original, 'mul', 'cpu'), 'mul'),
    Add: (original) => cpuBinary(channelBroadcast(original, 'add', 'cpu'), 'add'),
    Sub: (original) => cpuBinary(channelBroadcast(original, 'sub', 'cpu'), 'sub'),
    Step: cpuStep,
    Relu: cpuRelu,
    Sum: (original) => leadingAxesReduce(original, 'sum', 'cpu'),
    Mean: (original) => leadingAxesReduce(original, 'mean', 'cpu'),
  },
};

/** The backends whose gradient kernels LENNA replaces (wasm lacks some, cpu's are naive loops). */
export const LENNA_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;

/** Gradient kernel names LENNA registers on each of LENNA_KERNEL_BACKENDS. */
export const LENNA_KERNELS: readonly string[] = Object.keys(KERNELS);

/** Every kernel LENNA replaces on `backendName`: the gradient kernels and that backend's fixes. */
export function lennaKernelNames(backendName: string): string[] {
  return [...LENNA_KERNELS, ...Object.keys(BACKEND_FIXES[backendName] ?? {})];
}

const registeredOn = new Set<string>();
const originals = new Map<string, tf.KernelConfig>();

/** Registers LENNA's kernels on every backend in LENNA_KERNEL_BACKENDS that tfjs knows, and its Sum/Mean gradients. Idempotent. */
export function registerLennaKernels(): void {
  registerReduceGradients();
  registerReluGradient();
  for (const backendName of LENNA_KERNEL_BACKENDS) {
    if (registeredOn.has(backendName) || !tf.findBackendFactory(backendName)) continue;
    registeredOn.add(backendName);
    for (const [kernelName, make] of Object.entries(KERNELS)) replaceKernel(kernelName, backendName, make(backendName));
    for (const [kernelName, fix] of Object.entries(BACKEND_FIXES[backendName] ?? {})) {
      const original = tf.getKernel(kernelName, backendName);
      if (original) replaceKernel(kernelName, backendName, fix(original.kernelFunc));
    }
  }
}

/** Whether LENNA's kernels serve this backend (so dilated convolutions may use them directly). */
export function hasLennaKernels(backendName: string): boolean {
  return registeredOn.has(backendName);
}

function replaceKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  const original = tf.getKernel(kernelName, backendName);
  if (original) {
    originals.set(`${backendName}/${kernelName}`, original);
    tf.unregisterKernel(kernelName, backendName);
  }
  // The original's setup (tfjs-wasm binds its C function there) still runs when the backend starts.
  tf.registerKernel({ kernelName, backendName, kernelFunc, setupFunc: original?.setupFunc });
}

/** The kernel tfjs shipped before LENNA replaced it (undefined where the backend had none): a reference in tests. */
export function originalKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return originals.get(`${backendName}/${kernelName}`);
}
