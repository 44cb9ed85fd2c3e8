// Messages between the page (src/app/main.ts) and the worker that prunes (src/app/worker.ts).
// Files and Blobs travel by structured clone (no copy of their bytes); the zip comes back
// as a Blob.

/** A file the page picked, or one of the bundled demo's files (the worker fetches those). */
export type FileInput = { kind: 'demo' } | { kind: 'file'; file: File };

export interface JobRequest {
  /** The model folder's files (top level only) and the folder's name, or the bundled sst2-mini. */
  model: { kind: 'demo' } | { kind: 'files'; name: string; files: File[] };
  task: string;
  samples: FileInput;
  dev?: FileInput;
  /** Only the first N dev examples. */
  devLimit?: number;
  constraint: number;
  sampleCount: number;
  seed: number;
  /** What the constraint limits: the MACs, or the latency (a latency table is measured in the tab first). */
  metric: 'flops' | 'latency';
  /** Constraints of the sweep (search and rearrangement from the same Fisher pass); empty: none. */
  sweep: number[];
}

export type ToWorker = { type: 'prune'; job: JobRequest };

/** The page's steps, in order. */
export const STEPS = ['load', 'samples', 'kernels', 'lut', 'fisher', 'search', 'tune', 'export', 'dev', 'latency', 'files', 'sweep'] as const;
export type StepName = (typeof STEPS)[number];

export const STEP_LABELS: Record<StepName, string> = {
  load: 'Load the model and data',
  samples: 'Draw the sample set',
  kernels: 'Kernel tuning for this adapter',
  lut: 'Latency table (for a latency constraint)',
  fisher: 'Fisher information (step 1)',
  search: 'Search and rearrangement (steps 2-3)',
  tune: 'Mask tuning (step 4)',
  export: 'Pruned checkpoint (step 5)',
  dev: 'Dev set: unpruned, after search, rearrangement, tuning',
  latency: 'Forward latency in this tab: unpruned and pruned',
  files: 'report.json and the zip',
  sweep: 'Sweep over constraints',
};

export interface AdapterInfo {
  /** describeAdapter's line. */
  text: string;
  software: boolean;
  limits: Record<string, number>;
  features: Record<string, boolean>;
}

export interface SweepPoint {
  constraint: number;
  /** MACs kept, fraction of the encoder's. */
  fraction: number;
  heads: number;
  neurons: number;
  metrics?: Record<string, number>;
  agreement?: number;
  meanKL?: number;
  meanSquaredDifference?: number;
  /** Why this constraint gave no point (e.g. too small for one head). */
  error?: string;
}

export interface Pictures {
  layers: number;
  heads: number;
  intermediate: number;
  headsKept: number[];
  neuronsKept: number[];
  /** Fisher information of each head, [layers][heads], and whether the final mask keeps it. */
  headFisher: number[][];
  headKeptMask: boolean[][];
  /** Per layer: quantiles (0, 0.1, 0.25, 0.5, 0.75, 0.9, 1) of the neurons' Fisher information, and the share of the layer's total kept. */
  neuronQuantiles: number[][];
  neuronShareKept: number[];
  /** The main metric's name (accuracy, f1, ...). */
  metric?: string;
}

/** Wall time of repeated runs (src/prune/latency.ts's Timing). */
export interface Timing { medianMs: number; minMs: number; maxMs: number; runs: number }

/** report.json's latency: the unpruned and pruned forward on random inputs of batch × seq tokens. */
export interface Latency {
  batch: number;
  seq: number;
  unprunedMs: number;
  prunedMs: number;
  ratio: number;
  unpruned: Timing;
  pruned: Timing;
}

export type FromWorker =
  | { type: 'adapter'; ok: true; adapter: AdapterInfo }
  | { type: 'adapter'; ok: false; name: string; message: string }
  | { type: 'step'; step: StepName; info: string }
  | { type: 'progress'; what: string; done: number; total: number }
  | { type: 'log'; text: string }
  | { type: 'pictures'; pictures: Pictures }
  | { type: 'report'; report: Record<string, unknown>; zip: Blob; zipName: string; reportJson: string }
  | { type: 'sweep'; points: SweepPoint[] }
  | { type: 'done' }
  | { type: 'error'; name: string; message: string; step?: StepName };
