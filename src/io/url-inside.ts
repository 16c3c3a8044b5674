import { TensorsafeError } from '../errors.js';

/**
 * A file a model opened from a URL references (TF.js shard paths), resolved against the model's URL
 * and kept inside its folder: the same origin (scheme, host, port), a path under the model's own folder.
 * Refused before any request: an absolute URL or a scheme (`https:`, `data:`, `file:`), a path
 * starting with `/` or `//` (another host), a backslash (browsers read it as `/`), `.` or `..`
 * segments, plain or percent-encoded, a percent-encoded `/` or `\` (`..%2Fx` climbs out on servers that
 * decode it), and a NUL. What resolves elsewhere all the same is refused too.
 */

/** An http(s) URL (what `inspect`, `convert` and `verify` open over HTTP). */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** The URL of `relative` inside the folder of `base`, or ExternalDataRefused naming why. */
export function resolveInsideUrl(base: string, relative: string): string {
  const refuse = (why: string): TensorsafeError =>
    new TensorsafeError('ExternalDataRefused', `${JSON.stringify(relative)} ${why}; only files inside the folder of ${base} are read`, { location: relative });
  if (relative.includes('\0')) throw refuse('contains a NUL byte');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(relative)) throw refuse('is an absolute URL');
  if (relative.startsWith('/')) throw refuse(relative.startsWith('//') ? 'is a URL to another host' : 'is an absolute path');
  if (relative.includes('\\')) throw refuse('contains a backslash');
  if (relative.split(/[?#]/)[0]!.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s))) throw refuse("has '.' or '..' segments");
  // "..%2Fx.bin" is one segment here, but a server that decodes %2F or %5C before mapping the path to
  // a file reads it as "../x.bin": an encoded separator in the path is refused.
  if (/%(2f|5c)/i.test(relative.split(/[?#]/)[0]!)) throw refuse('has a percent-encoded slash or backslash (%2F, %5C)');
  const from = new URL(base);
  let to: URL;
  try {
    to = new URL(relative, from);
  } catch {
    throw refuse('is not a valid relative URL');
  }
  const folder = from.pathname.slice(0, from.pathname.lastIndexOf('/') + 1);
  if (to.origin !== from.origin || to.protocol !== from.protocol) throw refuse(`resolves to another origin (${to.origin})`);
  if (!to.pathname.startsWith(folder)) throw refuse(`resolves outside the model's folder (to ${to.pathname})`);
  return to.href;
}
