/**
 * Every convolution in nn goes through compute's conv2d / depthwiseConv2d / factorizedReduce: they
 * are differentiable on every backend for any stride and dilation, and the kernels compute registers
 * apply to them. Padding is a symmetric pixel count on each side, as PyTorch's `padding`.
 */
export { conv2d, depthwiseConv2d, factorizedReduce as reducePair, type ConvOptions } from '@lenna/compute';
