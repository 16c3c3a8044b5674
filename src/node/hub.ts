import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import type { HttpSourceOptions } from '../io/http-source.js';
import { scopedFetch } from '../io/scoped-fetch.js';
import { formatHubReference, hasHubScheme, isPinnedFile, looksLikeRepoId, parseHubReference, siblingReference, type HubReference } from '../hub/reference.js';
import { hubEndpoint, openHubFile, resolveHubModel, type HubModel, type HubOptions } from '../hub/resolve.js';
import { expandHome, hfHome, hubCache, hubCacheDir } from './hub-cache.js';

/**
 * The Hub in Node: where its settings come from (as huggingface_hub reads them), which targets are Hub
 * references, and how a file of one is opened (from the local cache when it is there, else with range
 * requests). The library's functions that take a path or URL (findModel, openModelFile, safeOpen,
 * scanTarget, hashFile, convertModel) take Hub references through here.
 *
 * Settings: the Hub's address is HF_ENDPOINT (default https://huggingface.co). The token is the one
 * given to useHubCredentials (the CLI's --token), else HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN),
 * else the Hugging Face CLI's token file: HF_TOKEN_PATH, else `$HF_HOME/token`. HF_HUB_OFFLINE=1 makes
 * no request (the cache only). A token is sent to the Hub's origin only, never printed.
 */

/** Largest token file read: a token is ~40 characters; a larger file is not one. */
export const MAX_TOKEN_FILE_BYTES = 4096;

type Env = Readonly<Record<string, string | undefined>>;

/** Request headers the HTTP reader sets itself, which --header may not replace. */
const OWN_HEADERS = new Set(['range', 'if-match', 'if-unmodified-since', 'if-none-match', 'if-range', 'host', 'content-length', 'accept-encoding']);

interface Credentials {
  token?: string;
  headers: [string, string][];
}

let credentials: Credentials = { headers: [] };

/**
 * The token and extra headers for this process's requests (the CLI's --token and --header); each call
 * replaces the last. `headers` are `Name: value` texts, sent to the origin of each URL read and to the Hub's.
 */
export function useHubCredentials(given: { token?: string; headers?: readonly string[] }): void {
  credentials = { ...(given.token !== undefined ? { token: given.token } : {}), headers: (given.headers ?? []).map(parseHeader) };
}

/** `Name: value`, checked: a header name, no line breaks, not one of the reader's own headers. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  const value = colon < 0 ? '' : text.slice(colon + 1).trim();
  // The value is never shown: it is often a credential.
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new TensorsafeError('InvalidArgument', `--header takes "Name: value"; ${JSON.stringify(name || text.slice(0, 40).split(':')[0])} is no header name`);
  if (/[\r\n\0]/.test(value)) throw new TensorsafeError('InvalidArgument', `--header ${name}: the value holds a line break or NUL`);
  if (OWN_HEADERS.has(name.toLowerCase())) throw new TensorsafeError('InvalidArgument', `--header ${name}: tensorsafe sets this header itself (range reads pinned to one version of a file)`);
  return [name, value];
}

/** The token file's path: HF_TOKEN_PATH, else `$HF_HOME/token`. */
export function tokenFilePath(env: Env = process.env): string {
  return env['HF_TOKEN_PATH'] ? expandHome(env['HF_TOKEN_PATH']) : path.join(hfHome(env), 'token');
}

/** The token in the Hugging Face CLI's token file, trimmed; undefined when there is none. */
export function readTokenFile(file: string): string | undefined {
  try {
    if (fs.statSync(file).size > MAX_TOKEN_FILE_BYTES) return undefined;
    const token = fs.readFileSync(file, 'utf8').replace(/[\r\n]/g, '').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** The Hub options of this process: credentials (given, else from the environment and the token file), address, cache, offline. */
export function hubOptions(env: Env = process.env): HubOptions {
  const token = credentials.token ?? (env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN'] || undefined) ?? readTokenFile(tokenFilePath(env));
  return {
    endpoint: hubEndpoint({ endpoint: env['HF_ENDPOINT'] || undefined }),
    ...(token !== undefined && token.trim() !== '' ? { token: token.trim() } : {}),
    headers: credentials.headers,
    local: hubCache(hubCacheDir(env)),
    offline: /^(1|on|yes|true)$/i.test(env['HF_HUB_OFFLINE'] ?? env['TRANSFORMERS_OFFLINE'] ?? ''),
  };
}

/**
 * The HTTP options for reading a plain http(s) URL: the --header headers for its origin, and the Hub
 * token when the URL is on the Hub (a `…/resolve/…` URL copied from the Hub's page), with redirects to
 * other origins made without them.
 */
export function httpOptionsFor(url: string): HttpSourceOptions {
  const options = hubOptions();
  const origin = new URL(url).origin;
  const headers = new Headers(credentials.headers);
  if (options.token !== undefined && origin === new URL(options.endpoint!).origin) headers.set('authorization', `Bearer ${options.token}`);
  return { fetch: scopedFetch([{ origin, headers }]) };
}

/**
 * The Hub reference a target names, or undefined: `hf://…` always; a bare `owner/repo[@revision]` only
 * when no local file or folder of that name exists (a local path wins).
 */
export function hubReferenceOf(target: string): HubReference | undefined {
  if (hasHubScheme(target)) return parseHubReference(target);
  if (!looksLikeRepoId(target) || localPathExists(target)) return undefined;
  return parseHubReference(target, { bare: true });
}

/** Whether a target is a Hub reference (see hubReferenceOf). */
export function isHubTarget(target: string): boolean {
  return hubReferenceOf(target) !== undefined;
}

function localPathExists(target: string): boolean {
  try {
    fs.lstatSync(target);
    return true;
  } catch {
    return false;
  }
}

/** Where each Hub file opened in this process was read from, by its pinned reference: for inspect's notes and --verbose. */
const readFrom = new Map<string, string>();

/** What was read from where since the last call (`hf://…: read from the local Hugging Face cache, <path>`), and forgets it. */
export function takeHubReads(): string[] {
  const lines = [...readFrom].map(([ref, where]) => `${ref}: ${where}`);
  readFrom.clear();
  return lines;
}

/** Resolves a Hub target into its pinned commit and model files (hub/resolve.ts), with this process's settings. */
export async function resolveHubTarget(target: string | HubReference, choose: { prefer?: string; avoid?: string } = {}): Promise<HubModel> {
  const ref = typeof target === 'string' ? hubReferenceOf(target) : target;
  if (ref === undefined) throw new TensorsafeError('InvalidArgument', `${String(target)} is not a Hub reference`);
  try {
    return await resolveHubModel(ref, { ...hubOptions(), ...choose });
  } catch (e) {
    // `owner/repo` was read as a repository because no such local path exists: a mistyped path reads as this.
    if (typeof target === 'string' && !hasHubScheme(target) && e instanceof TensorsafeError && e.code === 'HubRepoNotFound') {
      e.message += `; and there is no local file or folder ${target}`;
    }
    throw e;
  }
}

/**
 * A Hub target pinned to one file at a commit: as it is when it names a file at a commit; else resolved
 * (a branch or tag to its commit; a repository to its model's one file, a sharded set's index for a
 * sharded one).
 */
export async function pinnedHubReference(target: string | HubReference): Promise<HubReference> {
  const ref = typeof target === 'string' ? hubReferenceOf(target) : target;
  if (ref === undefined) throw new TensorsafeError('InvalidArgument', `${String(target)} is not a Hub reference`);
  if (isPinnedFile(ref)) return ref;
  const model = await resolveHubTarget(typeof target === 'string' ? target : ref);
  if (ref.path === undefined && model.index !== undefined) {
    // One source was asked for, and the repository's model is several files.
    const name = formatHubReference({ repo: model.repo, ...(ref.revision !== undefined ? { revision: ref.revision } : {}) });
    throw new TensorsafeError('InvalidArgument', `${name} is a sharded set (${model.index.path} and ${model.files.length} shards): name one file, ${name}/${model.files[0]!.path}`, { location: name });
  }
  return parseHubReference((model.index ?? model.files[0]!).reference)!;
}

/** Opens one file of the Hub (pinned first, see pinnedHubReference): the local cache's copy, else the pinned URL (range requests). */
export async function openHubSource(target: string | HubReference): Promise<ByteSource> {
  const ref = await pinnedHubReference(target);
  const opened = await openHubFile(ref.repo, ref.revision!, ref.path!, hubOptions());
  readFrom.set(formatHubReference(ref), opened.from === 'cache' ? `read from the local Hugging Face cache, ${opened.where}` : `fetched from ${opened.where}`);
  return opened.source;
}

/** Opens a file a Hub file references (a TF.js shard, ONNX external data), inside its repository at the same commit. */
export function openHubSibling(reference: string, relative: string): Promise<ByteSource> {
  const ref = hubReferenceOf(reference);
  if (ref === undefined) throw new TensorsafeError('InvalidArgument', `${reference} is not a Hub reference`);
  return openHubSource(siblingReference(ref, relative));
}

/** A Hub model's pinned reference without a file: `hf://owner/repo@<commit>`. */
export function hubModelName(model: HubModel): string {
  return formatHubReference({ repo: model.repo, revision: model.commit });
}
