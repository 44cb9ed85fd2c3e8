// A MatMul-only ONNX model, written as protobuf bytes by hand (the few fields of onnx.proto
// that a graph of one or two nodes needs), so that the ONNX Runtime peers need no protobuf
// dependency and no model file.

const utf8 = new TextEncoder();

/** Base-128 varint of a non-negative integer. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

const VARINT = 0, LEN = 2;
const key = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, n: number) => [...key(field, VARINT), ...varint(n)];
const bytes = (field: number, b: number[]) => [...key(field, LEN), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, [...utf8.encode(s)]);

// onnx.proto field numbers.
const TENSOR_FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INTS = 7; // AttributeProto.AttributeType.INTS

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 } } } } } */
function valueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, int(1, d)));
  const tensorType = [...int(1, TENSOR_FLOAT), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

/** NodeProto { input = 1, output = 2, name = 3, op_type = 4, attribute = 5 } */
function node(op: string, name: string, inputs: string[], outputs: string[], attributes: number[][] = []): number[] {
  return [
    ...inputs.flatMap((i) => str(1, i)), ...outputs.flatMap((o) => str(2, o)),
    ...str(3, name), ...str(4, op), ...attributes.flatMap((a) => bytes(5, a)),
  ];
}

/** AttributeProto { name = 1, ints = 8, type = 20 } */
const intsAttribute = (name: string, values: number[]) => [...str(1, name), ...int(20, ATTR_INTS), ...values.flatMap((v) => int(8, v))];

export interface OnnxMatmul {
  model: Uint8Array;
  aDims: number[];
  bDims: number[];
  cDims: number[];
}

/**
 * C = A·B (A: [batch,] M x K; B: [batch,] K x N), with A stored [batch,] K x M and used
 * transposed when transA, B stored [batch,] N x K when transB. ONNX's MatMul has no
 * transpose flag, so each transpose is a Transpose node before the MatMul: ONNX Runtime's
 * CPU provider fuses them into one FusedMatMul (MatmulTransposeFusion); its WebGPU provider
 * runs them all (its FusedMatMul would fall back to the CPU). Inputs are named A and B, the
 * output C; opset 17, IR version 8.
 */
export function matmulModel(batch: number, M: number, K: number, N: number, transA: boolean, transB: boolean): OnnxMatmul {
  const lead = batch > 1 ? [batch] : [];
  const aDims = [...lead, ...(transA ? [K, M] : [M, K])], bDims = [...lead, ...(transB ? [N, K] : [K, N])], cDims = [...lead, M, N];
  const nodes: number[][] = [];
  const perm = batch > 1 ? [0, 2, 1] : [1, 0];
  let a = 'A', b = 'B';
  if (transA) {
    nodes.push(node('Transpose', 'transpose_a', ['A'], ['At'], [intsAttribute('perm', perm)]));
    a = 'At';
  }
  if (transB) {
    nodes.push(node('Transpose', 'transpose_b', ['B'], ['Bt'], [intsAttribute('perm', perm)]));
    b = 'Bt';
  }
  nodes.push(node('MatMul', 'matmul', [a, b], ['C']));
  // GraphProto { node = 1, name = 2, input = 11, output = 12 }
  const graph = [
    ...nodes.flatMap((n) => bytes(1, n)), ...str(2, 'wgprune_matmul'),
    ...bytes(11, valueInfo('A', aDims)), ...bytes(11, valueInfo('B', bDims)), ...bytes(12, valueInfo('C', cDims)),
  ];
  // ModelProto { ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 { domain = 1, version = 2 } }
  const model = [...int(1, 8), ...str(2, 'wgprune-bench'), ...bytes(7, graph), ...bytes(8, [...str(1, ''), ...int(2, 17)])];
  return { model: new Uint8Array(model), aDims, bDims, cDims };
}
