import * as path from 'node:path';
import type { ScanReport } from '../scan/findings.js';
import { scanSource } from '../scan/scan.js';
import { FileSource } from './file-source.js';

/** Scans a local file (see scanSource); its folder is given for references to other files. */
export async function scanFile(file: string): Promise<ScanReport> {
  const source = await FileSource.open(file);
  try {
    return await scanSource(source, { dir: path.dirname(path.resolve(file)) });
  } finally {
    await source.close();
  }
}
