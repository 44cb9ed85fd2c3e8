declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Tagged template with #if/#elif/#else/#endif on substituted booleans. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
declare module '*.wgsl' {
  const source: string;
  export default source;
}
