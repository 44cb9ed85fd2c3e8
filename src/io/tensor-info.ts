import type { WeightDType } from './dtype.js';
import type { ByteSource } from './source.js';

/** A tensor in a checkpoint: what the model code checks names and shapes against. */
export interface TensorInfo {
  name: string;
  dtype: WeightDType;
  shape: number[];
  /** The file that holds it (for messages). */
  file: string;
}

/** Where a tensor's bytes lie: every format reduces to one contiguous range of one file. */
export interface TensorLocation extends TensorInfo {
  source: ByteSource;
  byteOffset: number;
  byteLength: number;
  /**
   * A CRC-32 over a range that holds the tensor (a zip entry: a whole storage, which views
   * of tied weights share), checked when the tensor is read.
   */
  checksum?: { byteOffset: number; byteLength: number; crc32: number; what: string };
}

/** The tensors of one weights file, validated, none read yet. */
export interface WeightsFile {
  file: string;
  format: 'safetensors' | 'pytorch-zip' | 'pytorch-legacy';
  tensors: Map<string, TensorLocation>;
  metadata?: Record<string, string>;
}
