import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** ../shared beside the repository: conformance vectors and the third-party corpus. */
export const SHARED = path.resolve(ROOT, '..', 'shared');
