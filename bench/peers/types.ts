import type { Job } from '../measure.js';

/** A peer set up for the cases: one job per case, and what to release afterwards. */
export interface PeerSetup {
  implementation: string;
  adapter: string;
  jobs: Job[];
  dispose: () => Promise<void> | void;
}
