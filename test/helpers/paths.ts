import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * ../shared beside the repository: the third-party corpus and the reference conformance vectors that CI
 * runs against. A clone with nothing beside it has no ../shared: the tests that need it are skipped
 * (test/helpers/global-setup.ts says so once), and every other test runs on the repository's own files.
 */
export const SHARED = path.resolve(ROOT, '..', 'shared');
/** The reference's crafted safetensors files and their verdicts (../shared/conformance/safetensors). */
export const SHARED_CONFORMANCE = path.join(SHARED, 'conformance', 'safetensors');
export const HAVE_SHARED_CONFORMANCE = fs.existsSync(path.join(SHARED_CONFORMANCE, 'expected.tsv'));
