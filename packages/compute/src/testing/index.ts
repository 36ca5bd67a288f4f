/**
 * Test support, not part of LENNA's API: tfjs-node's own kernels over a stand-in for its native
 * binding that records every TensorFlow op they request (see compute's README, "The TensorFlow op check").
 */
export { fetchTfjsNode, tfjsNodeOrSkip, registerRecordingTensorflow, listRequests, nonPortableRequests, writeListing, cacheRoot, TFJS_NODE, type RecordingTensorflow, type FetchedTfjsNode, type FetchOptions } from './tfjs-node.js';
export { RecordingBinding, type TfOpRequest } from './recording-binding.js';
export { executeTfOp, type HeldTensor, type TfAttrs } from './tf-ops.js';
