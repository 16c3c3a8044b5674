import { IoError, TensorsafeError } from '../errors.js';
import { MAX_DETECT_JSON_BYTES, type FormatDescriptor } from '../formats/format.js';
import type { ByteSource } from '../io/byte-source.js';
import { HttpSource, type FetchLike, type HttpSourceOptions } from '../io/http-source.js';
import { scopedFetch } from '../io/scoped-fetch.js';
import { checkNotShadowed, chooseModel, formatOfName, indexFormat, INDEX_SUFFIX, modelFileFormat, namedParts, type ModelChoice } from '../model/model-files.js';
import { readText } from '../safetensors/open.js';
import { parseShardIndex } from '../safetensors/sharded.js';
import { hubErrorOf, type HubRequestContext } from './errors.js';
import { formatHubReference, isCommitHash, parseHubReference, revisionOf, type HubReference } from './reference.js';

/**
 * A Hub reference resolved into the files to read (browser-safe: `fetch` only). The revision is pinned
 * first: a branch or tag becomes the commit hash it points to (the API's `sha`), and every file is then
 * read at `/<repo>/resolve/<commit>/<path>`, so a branch that moves while a model is read cannot mix two
 * versions (the header of one and the data of the other). A repository's model is picked from its
 * files' names as a local folder's is (model/model-files.ts chooseModel); a sharded set's index is
 * followed to its shards. Files are read with range requests (HttpSource) through a fetch that sends
 * the token to the Hub's origin only (io/scoped-fetch.ts), never to the content host the Hub redirects
 * downloads to. 401, 403 and 404 answers become coded errors (hub/errors.ts).
 */

/** The Hub's address when HF_ENDPOINT is not set. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** Largest answer of the revision API read (the list of a repository's files): guards against an endless or hostile answer filling memory. */
export const MAX_HUB_LISTING_BYTES = 32 * 1024 * 1024;

/** Most files a repository listing may hold: bounds the work of picking its model. */
export const MAX_HUB_FILES = 1_000_000;

/** First bytes fetched when a file of a repository is opened for its shards or header: its size is what is needed first. */
export const HUB_FILE_PREFETCH_BYTES = 64 * 1024;

/** Local copies of a repository's files (in Node, the Hugging Face cache: node/hub-cache.ts). */
export interface HubLocal {
  /** The commit a branch or tag pointed to when the cache last saw it, or undefined. */
  commitOf(repo: string, revision: string): string | undefined;
  /** The files (paths) of the cached snapshot of a commit, or undefined when there is none. */
  listing(repo: string, commit: string): readonly string[] | undefined;
  /** The cached file, opened, or undefined when it is not in the cache. */
  open(repo: string, commit: string, path: string): Promise<ByteSource | undefined>;
  /** Where a cached file is, for messages. */
  where(repo: string, commit: string, path: string): string;
}

export interface HubOptions {
  /** The Hub's address (default DEFAULT_HUB_ENDPOINT; Node reads HF_ENDPOINT). */
  endpoint?: string;
  /** An access token, sent as `Authorization: Bearer …` to the Hub's origin only. */
  token?: string;
  /** More headers for the Hub's origin only. */
  headers?: HeadersInit;
  /** The fetch under everything (default globalThis.fetch). */
  fetch?: FetchLike;
  /** Files already on this machine, read instead of requested. */
  local?: HubLocal;
  /** Make no request: revisions and files come from `local` only (HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Passed to HttpSource for the files (timeouts, retries, prefetch). */
  http?: Omit<HttpSourceOptions, 'fetch' | 'headers'>;
}

/** One file of a resolved model. */
export interface HubFile {
  /** `hf://owner/repo@<commit>/<path>`: the file at its pinned commit. */
  reference: string;
  path: string;
  /** `<endpoint>/<repo>/resolve/<commit>/<path>`. */
  url: string;
}

/** A Hub reference resolved: the pinned commit and the model's files. */
export interface HubModel {
  repo: string;
  /** The revision asked for (DEFAULT_REVISION when none was). */
  revision: string;
  /** The commit hash every file is read at. */
  commit: string;
  /** The format by the files' names (a registry id); the bytes decide when a file is opened. */
  format: string;
  /** The model's files, in order (a sharded set's shards in name order). */
  files: HubFile[];
  /** A sharded set's index, and where it puts each tensor. */
  index?: HubFile;
  weightMap?: ReadonlyMap<string, string>;
  /** How the resolution went, for people (a revision taken from the cache, offline). */
  notes: string[];
}

/** Where a file opened by openHubFile was read from. */
export interface OpenedHubFile {
  source: ByteSource;
  from: 'cache' | 'network';
  /** The cached file's path, or the URL requested. */
  where: string;
}

/** The Hub's address without a trailing slash, checked. */
export function hubEndpoint(options: Pick<HubOptions, 'endpoint'> = {}): string {
  const text = (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new TensorsafeError('InvalidArgument', `the Hub's address ${JSON.stringify(text)} (HF_ENDPOINT) is not a URL`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TensorsafeError('InvalidArgument', `the Hub's address ${url.origin} (HF_ENDPOINT) is not http(s)`);
  if (url.username || url.password || url.search || url.hash) throw new TensorsafeError('InvalidArgument', "the Hub's address (HF_ENDPOINT) must hold no credentials, query or fragment");
  return text;
}

/** The URL of a file of a repository at a revision (a commit hash, once pinned). */
export function hubFileUrl(endpoint: string, repo: string, revision: string, path: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The revision API's URL: `GET` answers `{ sha, siblings: [{ rfilename }] }`. */
export function hubRevisionUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
}

/** Statuses of a content host that mean its signed URL no longer works (expired, revoked): the Hub is asked again. */
const STALE_REDIRECT = new Set([401, 403, 404, 410]);

/**
 * The fetch every Hub request goes through: the token and headers to the Hub's origin only, redirects
 * followed without them to other origins (scopedFetch), and the Hub's 401/403/404 as coded errors.
 * One fetch serves one file: where the Hub redirected it (its content host's signed URL) is remembered,
 * so each later range read costs one request instead of two; when that URL stops working, the Hub is
 * asked again. The file is pinned to its commit, so the bytes there cannot be another version's (and
 * HttpSource still checks the ETag of every answer).
 */
export function hubFetch(options: HubOptions, context: Omit<HubRequestContext, 'endpoint' | 'withToken'>): FetchLike {
  const endpoint = hubEndpoint(options);
  const headers = new Headers(options.headers);
  if (options.token !== undefined && options.token !== '') headers.set('authorization', `Bearer ${options.token}`);
  const scoped = scopedFetch([{ origin: endpoint, headers }], options.fetch);
  const full: HubRequestContext = { ...context, endpoint, withToken: headers.has('authorization') };
  const hubOrigin = new URL(endpoint).origin;
  const redirected = new Map<string, string>();
  return async (url, init) => {
    const direct = redirected.get(url);
    if (direct !== undefined) {
      const res = await scoped(direct, init);
      if (!STALE_REDIRECT.has(res.status)) return res;
      if (res.body !== null) res.body.cancel().catch(() => undefined);
      redirected.delete(url);
    }
    const res = await scoped(url, init);
    // Node's fetch gives the URL that answered; another origin's is the content host the Hub sent this file to.
    if ((res.status === 200 || res.status === 206) && res.url !== '' && res.url !== url && new URL(res.url).origin !== hubOrigin) redirected.set(url, res.url);
    const error = hubErrorOf(res, full);
    if (error) {
      if (res.body !== null) res.body.cancel().catch(() => undefined);
      throw error;
    }
    return res;
  };
}

/** What the revision API says: the commit and the files. */
interface RevisionInfo {
  commit: string;
  files: string[];
}

/** Asks the revision API for a revision's commit and files. */
async function fetchRevision(repo: string, revision: string, options: HubOptions): Promise<RevisionInfo> {
  const endpoint = hubEndpoint(options);
  const url = hubRevisionUrl(endpoint, repo, revision);
  const fetchFn = hubFetch(options, { repo, revision });
  let res: Response;
  try {
    res = await fetchFn(url, { method: 'GET', headers: { accept: 'application/json' } });
  } catch (cause) {
    if (cause instanceof TensorsafeError) throw cause;
    throw new IoError('IoError', `${url}: network error: ${(cause as Error).message ?? String(cause)} (the Hub could not be reached: HF_ENDPOINT sets its address; a model in the local Hugging Face cache is read without it)`, { cause, location: url });
  }
  if (res.status !== 200) {
    if (res.body !== null) res.body.cancel().catch(() => undefined);
    throw new IoError('HttpError', `${url}: HTTP ${res.status}`, { location: url });
  }
  const text = new TextDecoder().decode(await readBounded(res, MAX_HUB_LISTING_BYTES, url));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new IoError('InvalidResponse', `${url}: the answer is not JSON`, { cause, location: url });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new IoError('InvalidResponse', `${url}: the answer is not a JSON object`, { location: url });
  const info = json as { sha?: unknown; siblings?: unknown };
  if (typeof info.sha !== 'string' || !isCommitHash(info.sha)) throw new IoError('InvalidResponse', `${url}: the answer has no commit hash ("sha")`, { location: url });
  const siblings = Array.isArray(info.siblings) ? info.siblings : [];
  if (siblings.length > MAX_HUB_FILES) throw new IoError('InvalidResponse', `${url}: the answer lists more than ${MAX_HUB_FILES} files (MAX_HUB_FILES)`, { location: url });
  const files = siblings.flatMap((s: unknown) => {
    const name = (s as { rfilename?: unknown } | null)?.rfilename;
    return typeof name === 'string' ? [name] : [];
  });
  return { commit: info.sha, files };
}

/** A response body, at most `limit` bytes. */
async function readBounded(res: Response, limit: number, url: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => undefined);
      throw new IoError('InvalidResponse', `${url}: the answer is larger than ${limit} bytes`, { location: url });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A network failure (no answer at all), as opposed to an answer that refuses. */
function isUnreachable(e: unknown): boolean {
  return e instanceof IoError && (e.code === 'IoError' || e.code === 'Timeout');
}

/**
 * Opens one file of a repository at a commit: the local copy when there is one (no request), else
 * the pinned URL with range requests.
 */
export async function openHubFile(repo: string, commit: string, path: string, options: HubOptions = {}): Promise<OpenedHubFile> {
  const local = await options.local?.open(repo, commit, path);
  if (local) return { source: local, from: 'cache', where: options.local!.where(repo, commit, path) };
  const reference = formatHubReference({ repo, revision: commit, path });
  if (options.offline) {
    throw new IoError('NotFound', `${reference} is not in the local Hugging Face cache, and requests are off (HF_HUB_OFFLINE)`, { location: reference });
  }
  const url = hubFileUrl(hubEndpoint(options), repo, commit, path);
  const source = await HttpSource.open(url, { prefetchBytes: HUB_FILE_PREFETCH_BYTES, ...options.http, fetch: hubFetch(options, { repo, revision: commit, path }) });
  return { source, from: 'network', where: url };
}

/**
 * Resolves a Hub reference (`hf://owner/repo[@revision][/path]`, or a parsed one) into its pinned commit
 * and files: for a file, that file (a sharded set's index followed to its shards); for a repository,
 * its model picked by its files' names (`prefer` and `avoid` as for a local folder). The revision is
 * pinned by the revision API, which also lists the files; a commit hash needs no request when the
 * cache has what is needed, and without the network (or offline) a branch is pinned from the cache.
 */
export async function resolveHubModel(reference: string | HubReference, options: HubOptions & { prefer?: string; avoid?: string } = {}): Promise<HubModel> {
  const ref = typeof reference === 'string' ? parseHubReference(reference, { bare: true }) : reference;
  if (ref === undefined) throw new TensorsafeError('InvalidArgument', `${String(reference)} is not a Hub reference (owner/repo, or hf://owner/repo[@revision][/path])`);
  const endpoint = hubEndpoint(options);
  const revision = revisionOf(ref);
  const notes: string[] = [];
  let info: RevisionInfo | undefined;
  let commit: string | undefined = isCommitHash(revision) ? revision : undefined;
  const cached = commit === undefined ? options.local?.commitOf(ref.repo, revision) : undefined;
  if (commit === undefined) {
    if (options.offline) {
      if (cached === undefined) throw new IoError('NotFound', `${ref.repo}@${revision} is not in the local Hugging Face cache, and requests are off (HF_HUB_OFFLINE)`, { location: ref.repo });
      commit = cached;
      notes.push(`${ref.repo}@${revision} pinned to ${commit} from the local cache (offline)`);
    } else {
      try {
        info = await fetchRevision(ref.repo, revision, options);
        commit = info.commit;
      } catch (e) {
        if (!isUnreachable(e) || cached === undefined) throw e;
        commit = cached;
        notes.push(`${endpoint} could not be reached: ${ref.repo}@${revision} pinned to ${commit} from the local cache`);
      }
    }
  }
  const pinned = commit;
  const file = (path: string): HubFile => ({ reference: formatHubReference({ repo: ref.repo, revision: pinned, path }), path, url: hubFileUrl(endpoint, ref.repo, pinned, path) });
  const base = { repo: ref.repo, revision, commit: pinned, notes };

  let choice: { format: string; path: string; isIndex: boolean };
  if (ref.path !== undefined) {
    const isIndex = ref.path.endsWith(INDEX_SUFFIX);
    choice = { format: (isIndex ? indexFormat(baseName(ref.path)) : formatOfName(baseName(ref.path)))?.id ?? 'unknown', path: ref.path, isIndex };
  } else {
    const where = formatHubReference({ repo: ref.repo, revision: pinned });
    const pick = async (names: readonly string[]): Promise<{ format: string; path: string; isIndex: boolean }> => {
      const top = names.filter((n) => !n.includes('/')).sort();
      checkNotShadowed(where, top);
      const parts = await partsNamedIn(ref.repo, pinned, top, options);
      const model = chooseModel(where, top, { prefer: options.prefer, avoid: options.avoid, models: parts.models, parts: parts.parts, make: (c: ModelChoice) => ({ format: c.format.id, path: (c.index ?? c.file)!, isIndex: c.index !== undefined }) });
      return model;
    };
    const local = info === undefined ? options.local?.listing(ref.repo, pinned) : undefined;
    let picked: { format: string; path: string; isIndex: boolean } | undefined;
    if (local !== undefined) picked = await pick(local).catch(() => undefined);
    if (picked === undefined && info === undefined && !options.offline) info = await fetchRevision(ref.repo, pinned, options);
    if (picked === undefined) {
      if (info === undefined) throw new IoError('NotFound', `${where}: no model in the local Hugging Face cache's snapshot, and requests are off (HF_HUB_OFFLINE)`, { location: where });
      try {
        picked = await pick(info.files);
      } catch (e) {
        if (e instanceof IoError && e.code === 'AmbiguousModel') e.message += ` with hf://${ref.repo}${ref.revision !== undefined ? `@${ref.revision}` : ''}/<file>`;
        throw e;
      }
    }
    choice = picked;
  }
  if (!choice.isIndex) return { ...base, format: choice.format, files: [file(choice.path)] };

  // A sharded set: the index, read from the cache or the Hub, names the shards beside it.
  const index = file(choice.path);
  const opened = await openHubFile(ref.repo, pinned, choice.path, options);
  let text: string;
  try {
    text = await readText(opened.source);
  } finally {
    await opened.source.close?.();
  }
  const parsed = parseShardIndex(text, index.reference);
  const dir = choice.path.includes('/') ? choice.path.slice(0, choice.path.lastIndexOf('/') + 1) : '';
  const names = [...new Set(parsed.weightMap.values())].sort();
  const byShards = new Set(names.map((n) => formatOfName(baseName(n))?.id));
  const format = (byShards.size === 1 ? [...byShards][0] : undefined) ?? choice.format;
  return { ...base, format, files: names.map((n) => file(`${dir}${n}`)), index, weightMap: parsed.weightMap };
}

/**
 * The files among a repository's top-level names that name their parts (a TF.js model.json), read to
 * learn those parts, which are then no models of their own. Only files whose name says they name parts
 * are read (one request each): a repository's other JSON files (configs, tokenizers) are not.
 */
async function partsNamedIn(repo: string, commit: string, names: readonly string[], options: HubOptions): Promise<{ models: Map<string, FormatDescriptor>; parts: Set<string> }> {
  const models = new Map<string, FormatDescriptor>();
  const parts = new Set<string>();
  for (const name of names) {
    if (modelFileFormat(name)?.referencedFiles === undefined) continue;
    const opened = await openHubFile(repo, commit, name, options);
    try {
      if (opened.source.size > MAX_DETECT_JSON_BYTES) continue;
      const named = namedParts(name, await opened.source.read(0, opened.source.size));
      if (named === undefined) continue;
      models.set(name, named.format);
      for (const p of named.parts) parts.add(p);
    } finally {
      await opened.source.close?.();
    }
  }
  return { models, parts };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
