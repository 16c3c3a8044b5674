import * as path from 'node:path';
import { WindowSource, type ByteSource } from '../io/byte-source.js';
import type { ScanReport } from '../formats/findings.js';
import { scanSource } from '../scan/scan.js';
import { FileSource } from './file-source.js';
import { escapesFolder } from './inside-folder.js';
import { formatHubReference } from '../hub/reference.js';
import { httpOptionsFor, hubReferenceOf, openHubSource, pinnedHubReference } from './hub.js';

/** Scans a local file (see scanSource); its folder is given for references to other files. */
export async function scanFile(file: string): Promise<ScanReport> {
  const source = await FileSource.open(file);
  try {
    const dir = path.dirname(path.resolve(file));
    return await scanSource(source, { dir, escapesFolder: (relative) => escapesFolder(dir, relative) });
  } finally {
    await source.close();
  }
}

/** Scans a path, an http(s) URL or a Hub file (`hf://…`, from the local cache when there) on this thread; one that cannot be opened or read is an `error` report. */
export async function scanTargetHere(target: string): Promise<ScanReport> {
  let source: ByteSource | undefined;
  try {
    const remote = /^https?:\/\//i.test(target);
    // The HTTP reader is loaded only for URLs.
    const hub = remote ? undefined : hubReferenceOf(target);
    if (hub) {
      // Named by its pinned reference, as inspect and convert name it, not by the URL or cache path it is read from.
      const pinned = await pinnedHubReference(target);
      source = await openHubSource(pinned);
      return await scanSource(new WindowSource(source, 0, source.size, formatHubReference(pinned)));
    }
    source = remote ? await (await import('../io/http-source.js')).HttpSource.open(target, httpOptionsFor(target)) : await FileSource.open(target);
    if (remote) return await scanSource(source);
    const dir = path.dirname(path.resolve(target));
    return await scanSource(source, { dir, escapesFolder: (relative) => escapesFolder(dir, relative) });
  } catch (e) {
    return {
      file: target,
      format: 'unknown',
      verdict: 'error',
      findings: [{ severity: 'error', rule: 'scan/io-error', message: (e as Error).message, location: target }],
    };
  } finally {
    await source?.close?.();
  }
}
