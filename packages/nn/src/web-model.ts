import * as tf from '@tensorflow/tfjs';
import { inGraphForms, LENNA_KERNEL_BACKENDS } from '@lenna/compute';
import type { EvalNetwork } from './eval-network.js';
import { graphDefOf, type GraphNode, type GraphWeight } from './graph-def.js';
import { traceKernels } from './graph-trace.js';

/** The files of a web model: `model.json` and one weight shard beside it. */
export const WEB_MODEL_JSON = 'model.json';
export const WEB_MODEL_WEIGHTS = 'group1-shard1of1.bin';
/** Names of the graph's input (NHWC images, any batch) and output (logits) nodes. */
export const WEB_MODEL_INPUT = 'images';
export const WEB_MODEL_OUTPUT = 'logits';

/** A tfjs graph model (tfjs-converter's model.json format) and its weights. */
export interface WebModel {
  modelJson: WebModelJson;
  weightData: Uint8Array;
}

export interface WebModelJson {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: { node: GraphNode[]; library: Record<string, never>; versions: Record<string, never> };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' | 'int32' }[] }[];
  signature: { inputs: Record<string, SignatureEntry>; outputs: Record<string, SignatureEntry> };
  userDefinedMetadata: Record<string, unknown>;
}

interface SignatureEntry {
  name: string;
  dtype: 'DT_FLOAT';
  tensorShape: { dim: { size: string }[] };
}

/** Two batch sizes to trace at: the graph keeps what they agree on, and -1 where a size follows the batch. */
const TRACE_BATCHES = [2, 3] as const;

/**
 * The evaluation network's inference pass (BatchNorm on running statistics, no auxiliary head, no drop
 * path) as a tfjs graph model a web page loads with tf.loadGraphModel: the tfjs kernels nn's own forward
 * pass runs, recorded (graph-trace.ts) and written as GraphDef nodes (graph-def.ts), with everything
 * computed from weights alone (BatchNorm's scale and shift, FactorizedReduce's filter) folded into
 * constants. Pools are traced in compute's graph forms. `metadata` goes to model.json's userDefinedMetadata.
 */
export async function exportWebModel(net: EvalNetwork, metadata: Record<string, unknown> = {}): Promise<WebModel> {
  const { inputSize, inputChannels, numClasses } = net.config;
  const names = new Map<number, string>();
  for (const [name, v] of [...net.store.weights, ...net.store.buffers]) names.set(v.id, name);
  const traces = await onTraceableBackend(() =>
    TRACE_BATCHES.map((batch) => {
      const x = tf.zeros([batch, inputSize, inputSize, inputChannels]);
      try {
        return inGraphForms(() => traceKernels((input) => net.forward(input as tf.Tensor4D, { training: false }).logits, x, names));
      } finally {
        x.dispose();
      }
    }),
  );
  const graph = graphDefOf([traces[0], traces[1]], {
    inputName: WEB_MODEL_INPUT,
    inputShape: [-1, inputSize, inputSize, inputChannels],
    outputName: WEB_MODEL_OUTPUT,
  });
  const entry = (name: string, dims: number[]): SignatureEntry => ({ name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } });
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: `LENNA (@lenna/nn exportWebModel) on tfjs ${tf.version.tfjs}`,
      convertedBy: 'LENNA',
      modelTopology: { node: graph.nodes, library: {}, versions: {} },
      weightsManifest: [{ paths: [WEB_MODEL_WEIGHTS], weights: graph.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
      signature: {
        inputs: { [WEB_MODEL_INPUT]: entry(WEB_MODEL_INPUT, [-1, inputSize, inputSize, inputChannels]) },
        outputs: { [WEB_MODEL_OUTPUT]: entry(WEB_MODEL_OUTPUT, [-1, numClasses]) },
      },
      userDefinedMetadata: metadata,
    },
    weightData: concatWeights(graph.weights),
  };
}

/**
 * Runs `trace` where LENNA's kernels serve the backend (wasm, cpu), whose convolutions take explicit
 * padding and dilation as a GraphDef Conv2D does; elsewhere (the native TensorFlow backends) on cpu for
 * the while. Only the structure and the folded constants of the trace matter, and both are the same there.
 */
async function onTraceableBackend<T>(trace: () => T): Promise<T> {
  const current = tf.getBackend();
  if ((LENNA_KERNEL_BACKENDS as readonly string[]).includes(current)) return trace();
  await tf.setBackend('cpu');
  try {
    return trace();
  } finally {
    await tf.setBackend(current);
  }
}

function concatWeights(weights: GraphWeight[]): Uint8Array {
  const total = weights.reduce((s, w) => s + w.values.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    out.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), at);
    at += w.values.byteLength;
  }
  return out;
}

/** The model as tf.io.ModelArtifacts, for tf.loadGraphModel(tf.io.fromMemory(...)) without files. */
export function webModelArtifacts(model: WebModel): tf.io.ModelArtifacts {
  const { modelJson, weightData } = model;
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
    weightData: weightData.slice().buffer,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata as Record<string, object>,
  };
}
