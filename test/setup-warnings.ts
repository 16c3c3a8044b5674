import { afterAll } from 'vitest';

/** Tests print no warnings: any process warning (MaxListenersExceededWarning, …) in a test file fails it. */
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));
afterAll(async () => {
  // Warnings are emitted on a later tick than the code that caused them.
  await new Promise((resolve) => setImmediate(resolve));
  if (warnings.length > 0) throw new Error(`process warnings were printed:\n${warnings.join('\n')}`);
});
