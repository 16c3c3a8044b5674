/**
 * The well-known symbols of explicit resource management (`using`, `await using`). Runtimes that
 * predate them (Node before 20.4, older browsers) get the registered symbols a polyfill would use.
 * Typed as the well-known symbols, so that TypeScript sees a handle as AsyncDisposable.
 */
export const asyncDisposeSymbol: typeof Symbol.asyncDispose = ((Symbol as { asyncDispose?: symbol }).asyncDispose ??
  Symbol.for('Symbol.asyncDispose')) as typeof Symbol.asyncDispose;
