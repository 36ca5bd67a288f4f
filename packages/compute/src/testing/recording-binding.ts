import type * as tf from '@tensorflow/tfjs';
import { executeTfOp, tfArray, type HeldTensor, type TfAttrs } from './tf-ops.js';

/** TensorFlow's C API enums (tf_datatype.h, tf_attrtype.h), which the native binding exports by these names. */
const TF_DTYPES: Record<string, number> = { TF_FLOAT: 1, TF_INT32: 3, TF_UINT8: 4, TF_STRING: 7, TF_COMPLEX64: 8, TF_INT64: 9, TF_BOOL: 10, TF_RESOURCE: 20 };
const TF_ATTR_TYPES: Record<string, number> = { TF_ATTR_STRING: 0, TF_ATTR_INT: 1, TF_ATTR_FLOAT: 2, TF_ATTR_BOOL: 3, TF_ATTR_TYPE: 4, TF_ATTR_SHAPE: 5 };
const DTYPE_OF: Record<number, tf.DataType> = { 1: 'float32', 3: 'int32', 10: 'bool', 8: 'complex64', 7: 'string' };
const ENUM_OF: Partial<Record<tf.DataType, number>> = { float32: 1, int32: 3, bool: 10, complex64: 8, string: 7 };

/** One op as tfjs-node asked libtensorflow for it. */
export interface TfOpRequest {
  op: string;
  /** Attribute name → value; dtype attributes by tfjs's dtype names. */
  attrs: TfAttrs;
}

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/**
 * A stand-in for tfjs-node's native binding (tfjs_binding.node): it keeps tensors by id, records every
 * executeOp request (op name and attributes, as libtensorflow would receive them) and answers it with
 * what TensorFlow computes for that op (`executeTfOp`), so that training runs on as it would.
 */
export class RecordingBinding {
  readonly requests: TfOpRequest[] = [];
  readonly TF_Version = '2.9.1';
  private readonly tensors = new Map<number, HeldTensor>();
  private nextId = 0;

  constructor(private readonly usingGpu: boolean) {
    Object.assign(this, TF_DTYPES, TF_ATTR_TYPES);
  }

  isUsingGpuDevice(): boolean {
    return this.usingGpu;
  }

  createTensor(shape: number[], dtype: number, values: tf.backend_util.BackendValues): number {
    const id = this.nextId++;
    const type = this.dtypeOf(dtype);
    this.tensors.set(id, { shape: [...shape], dtype: type, values: tfArray(values, type) });
    return id;
  }

  deleteTensor(id: number): void {
    this.tensors.delete(id);
  }

  tensorDataSync(id: number): tf.backend_util.BackendValues {
    return this.held(id).values;
  }

  getNumOfTensors(): number {
    return this.tensors.size;
  }

  executeOp(op: string, opAttrs: OpAttr[], inputIds: number[], numOutputs: number): { id: number; shape: number[]; dtype: number }[] {
    const attrs: TfAttrs = {};
    for (const a of opAttrs) attrs[a.name] = a.type === TF_ATTR_TYPES.TF_ATTR_TYPE ? this.dtypeOf(a.value as number) : copyValue(a.value);
    this.requests.push({ op, attrs });
    const outputs = executeTfOp(op, inputIds.map((id) => this.held(id)), attrs);
    if (outputs.length !== numOutputs) throw new Error(`${op} gives ${outputs.length} outputs but tfjs-node asked for ${numOutputs}.`);
    return outputs.map((t) => {
      const id = this.nextId++;
      this.tensors.set(id, t);
      return { id, shape: t.shape, dtype: ENUM_OF[t.dtype] ?? -1 };
    });
  }

  private held(id: number): HeldTensor {
    const t = this.tensors.get(id);
    if (!t) throw new Error(`tensor ${id} was deleted or never made.`);
    return t;
  }

  private dtypeOf(code: number): tf.DataType {
    const dtype = DTYPE_OF[code];
    if (!dtype) throw new Error(`the TensorFlow stand-in holds no tensors of TF dtype ${code}.`);
    return dtype;
  }
}

function copyValue(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}
