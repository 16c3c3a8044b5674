import { HAVE_CORPUS } from './corpus.js';
import { HAVE_SHARED_CONFORMANCE } from './paths.js';

/** Says once, in the test output, when the tests that need ../shared are skipped. */
export default function setup(): void {
  if (!HAVE_CORPUS || !HAVE_SHARED_CONFORMANCE) {
    process.stdout.write('\n../shared not found: corpus and shared conformance tests skipped (CI runs them)\n\n');
  }
}
