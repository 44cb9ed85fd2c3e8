// Test fixtures are bundled by esbuild as text: `import t from './x.tsv' with { type: 'text' }`
// (esbuild's text loader drops a leading UTF-8 BOM). JSON files: `with { type: 'json' }`.
declare module '*.txt' { const text: string; export default text; }
declare module '*.tsv' { const text: string; export default text; }
declare module '*.jsonl' { const text: string; export default text; }
