import { IoError } from '../errors.js';
import type { FetchLike } from './http-source.js';

/**
 * A fetch that sends credentials (a Hub token, headers the user gave with --header) only to the origin
 * they were given for. It follows redirects itself instead of letting fetch do it, so that a redirect
 * to another origin (the Hub sends every file download to a content host) is requested without them,
 * as huggingface_hub and curl do: a token is never shown to a host it was not meant for. (Node's fetch,
 * following a redirect itself, drops Authorization on another origin but keeps every other header: an
 * API key or a cookie given with --header would reach the content host.) A redirect from
 * https to plain http is refused (it would send the request, and maybe its credentials, in clear text).
 *
 * Browsers do not show a redirect's Location to a page (`redirect: 'manual'` gives an opaque answer):
 * there the request is made again with `redirect: 'follow'`, and the browser drops Authorization on a
 * redirect to another origin, as the Fetch standard requires.
 */

/** Redirects followed for one request: guards against redirect loops. */
export const MAX_REDIRECTS = 10;

/** Headers sent to one origin (scheme, host and port) only. */
export interface OriginHeaders {
  /** An origin, `https://huggingface.co`, or any URL of it. */
  origin: string;
  headers: HeadersInit;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A FetchLike that adds each scope's headers to requests for its origin and follows redirects as described above. */
export function scopedFetch(scopes: readonly OriginHeaders[], base?: FetchLike): FetchLike {
  const fetchFn: FetchLike = base ?? ((u, init) => globalThis.fetch(u, init));
  const normalized = scopes.map((s) => ({ origin: new URL(s.origin).origin, headers: new Headers(s.headers) }));
  return async (url, init) => {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const headers = new Headers(init.headers);
      for (const scope of normalized) {
        if (scope.origin === current.origin) scope.headers.forEach((value, name) => headers.set(name, value));
      }
      const res = await fetchFn(current.href, { ...init, headers, redirect: 'manual' });
      // A browser: the redirect is hidden; it follows it itself, dropping Authorization across origins.
      if (res.type === 'opaqueredirect') return fetchFn(current.href, { ...init, headers, redirect: 'follow' });
      const location = REDIRECTS.has(res.status) ? res.headers.get('location') : null;
      if (location === null) return res;
      if (res.body !== null) res.body.cancel().catch(() => undefined);
      const where = `${current.origin}${current.pathname}`;
      if (hop >= MAX_REDIRECTS) throw new IoError('InvalidResponse', `${where}: more than ${MAX_REDIRECTS} redirects (MAX_REDIRECTS)`, { location: where });
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (cause) {
        throw new IoError('InvalidResponse', `${where}: redirected to an invalid URL`, { cause, location: where });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new IoError('InvalidResponse', `${where}: redirected to a ${next.protocol} URL`, { location: where });
      if (current.protocol === 'https:' && next.protocol === 'http:') {
        throw new IoError('InvalidResponse', `${where}: redirected from https to plain http (${next.origin}); refused`, { location: where });
      }
      current = next;
    }
  };
}
