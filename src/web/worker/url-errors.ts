import { IoError, TensorsafeError } from '../../errors.js';

/** How long the check of whether a server answers at all may take (ms) before it is taken as unreachable. */
const REACH_TIMEOUT_MS = 10_000;

/**
 * Says what to do about a URL that could not be read by the page. A browser shows a page nothing of a
 * server's answer that the server does not allow it to read (CORS): fetch fails exactly as when the
 * server cannot be reached. An opaque request (`no-cors`, its answer unreadable, aborted as soon as it
 * comes) tells the two apart; it goes only to the URL the user typed.
 */
export async function explainUrlFailure(url: string, e: unknown): Promise<unknown> {
  if (!(e instanceof TensorsafeError)) return e;
  if (e.code === 'HttpError') {
    const status = Number(/HTTP (\d{3})/.exec(e.message)?.[1]);
    const hint =
      status === 404 || status === 410
        ? 'no file is at that address: check the URL (on the Hugging Face Hub, a file\'s URL has /resolve/, not /blob/)'
        : status === 401 || status === 403
          ? 'the server refuses to give it to this page (it may need a login, which the page never sends): download the file and drop it into the page'
          : undefined;
    return hint === undefined ? e : new IoError('HttpError', `${e.message}: ${hint}`, { location: url, cause: e });
  }
  if (e.code !== 'IoError' || !/network error/.test(e.message)) return e;
  const here = typeof location === 'undefined' ? undefined : location;
  if (here !== undefined && here.protocol === 'https:' && url.toLowerCase().startsWith('http:')) {
    return new IoError('IoError', `${url}: a page served over https: cannot read an http: URL (the browser blocks it); use its https: address, or download the file and drop it into the page`, { location: url, cause: e });
  }
  if (await answersOpaquely(url)) {
    return new IoError(
      'CorsRefused',
      `${url}: the server answers but does not let this page read the file: it sends no Access-Control-Allow-Origin header (CORS). Serve it with CORS allowed (Access-Control-Allow-Origin, and Content-Range, ETag and Last-Modified in Access-Control-Expose-Headers), or download the file and drop it into the page`,
      { location: url, cause: e },
    );
  }
  return new IoError('IoError', `${url}: the server cannot be reached (${e.message.replace(/^.*?network error: /, '')}): check the URL and the network`, { location: url, cause: e });
}

/** Whether the server answers a request whose answer the page may not read. */
async function answersOpaquely(url: string): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REACH_TIMEOUT_MS);
  try {
    await fetch(url, { mode: 'no-cors', credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer', signal: controller.signal });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    // Its body is not wanted: stop the download as soon as the answer came.
    controller.abort();
  }
}
