// What scripts/bench-browser.mjs needs from the harness, bundled to dist/bench/report.js.
export { formatSummary, formatTable, markdownSummary, mergeRecords, type Record } from './measure.js';
