import { TensorsafeError } from '../errors.js';
import { formatOfName, isInsideFolder } from '../model/model-files.js';

/**
 * References to files and models on the Hugging Face Hub, as tensorsafe takes them wherever a path or
 * URL is taken:
 * - `hf://owner/repo[@revision]/path/in/repo`: one file of a repository;
 * - `hf://owner/repo[@revision]`, `owner/repo`, `owner/repo@revision`: a repository, whose model is
 *   picked from its files as in a local folder (hub/resolve.ts).
 * A revision is a branch, a tag or a commit hash (default `main`); one holding `/` (`refs/pr/1`) is
 * written percent-encoded (`@refs%2Fpr%2F1`), as huggingface_hub's file system writes it. A bare
 * `owner/repo` is also the shape of a relative path: the Node layer takes it as a Hub reference only
 * when no such local path exists (node/hub.ts).
 */

export const HF_SCHEME = 'hf://';

/** The default revision, as huggingface_hub's. */
export const DEFAULT_REVISION = 'main';

/** Longest reference accepted: repo ids are at most 96 characters on the Hub; this bounds what is parsed. */
export const MAX_REFERENCE_LENGTH = 4096;

export interface HubReference {
  /** `owner/name`. */
  repo: string;
  /** Branch, tag or commit hash as given; undefined for the default (DEFAULT_REVISION). */
  revision?: string;
  /** A file inside the repository (`/`-separated); undefined for the repository itself. */
  path?: string;
}

/** One part of a repo id: the Hub's rule (letters, digits, `-`, `_`, `.`; not starting or ending with `-` or `.`; no `--` or `..`). */
const REPO_PART = /^(?!.*(--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;

/** A full commit hash: a revision that needs no request to be pinned. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** A reference to one file at a commit: opened as it is, with no request to resolve it. */
export type PinnedHubFile = HubReference & { revision: string; path: string };

/** Whether a reference names one file at a commit (findModel and expandHubTargets give such references). */
export function isPinnedFile(ref: HubReference): ref is PinnedHubFile {
  return ref.path !== undefined && ref.revision !== undefined && isCommitHash(ref.revision);
}

/** Whether `text` is written as a Hub reference with the `hf://` scheme. */
export function hasHubScheme(text: string): boolean {
  return text.slice(0, HF_SCHEME.length).toLowerCase() === HF_SCHEME;
}

/** Whether `text` is written as a Hub reference: `hf://…`, or shaped as a bare repo id (where no local path can be preferred: the web page). */
export function isHubReference(text: string): boolean {
  return hasHubScheme(text) || looksLikeRepoId(text);
}

/**
 * Whether `text` has the shape of a bare repo id (`owner/repo`, `owner/repo@revision`), which a relative
 * path may also have. A name ending like a model file (`models/pytorch_model.bin`, `out/model.json`) is
 * read as a path: a mistyped local file is then "not found", never a request to the Hub.
 */
export function looksLikeRepoId(text: string): boolean {
  if (hasHubScheme(text)) return false;
  const ref = parseBody(text, false);
  const name = ref?.repo.slice(ref.repo.indexOf('/') + 1) ?? '';
  return ref !== undefined && formatOfName(name) === undefined && !/\.(json|ya?ml|txt|md|npy|npz)$/i.test(name);
}

/**
 * Reads `hf://owner/repo[@revision][/path]`, or a bare `owner/repo[@revision]` when `bare` is true.
 * Undefined when `text` is neither shape; an `hf://` text that is not a valid reference is an
 * InvalidArgument error saying why.
 */
export function parseHubReference(text: string, options: { bare?: boolean } = {}): HubReference | undefined {
  if (!hasHubScheme(text)) return options.bare ? parseBody(text, false) : undefined;
  const ref = parseBody(text.slice(HF_SCHEME.length), true);
  if (ref === undefined) {
    throw new TensorsafeError('InvalidArgument', `${JSON.stringify(text.slice(0, 200))} is not a Hub reference: write hf://owner/repo[@revision][/path]`, { location: text.slice(0, 200) });
  }
  return ref;
}

function parseBody(body: string, withPath: boolean): HubReference | undefined {
  if (body.length > MAX_REFERENCE_LENGTH || body.includes('\\') || body.includes('\0')) return undefined;
  const [owner, second, ...rest] = body.split('/');
  if (owner === undefined || second === undefined || (!withPath && rest.length > 0)) return undefined;
  const at = second.indexOf('@');
  const name = at < 0 ? second : second.slice(0, at);
  if (!REPO_PART.test(owner) || !REPO_PART.test(name)) return undefined;
  let revision: string | undefined;
  if (at >= 0) {
    try {
      revision = decodeURIComponent(second.slice(at + 1));
    } catch {
      return undefined;
    }
    if (!isRevision(revision)) return undefined;
  }
  const path = rest.join('/');
  if (rest.length > 0 && path !== '' && !isInsideFolder(path)) return undefined;
  return { repo: `${owner}/${name}`, ...(revision !== undefined ? { revision } : {}), ...(path !== '' ? { path } : {}) };
}

/** A branch, tag or commit name git would take (no `..`, no control characters, no empty segment): it goes into a URL path and a cache file name. */
function isRevision(revision: string): boolean {
  return revision !== '' && revision.length <= 255 && !/[\x00-\x20\x7f~^:?*[\\]|\.\.|\/\/|^\/|\/$|^\.|@\{/.test(revision);
}

/** `hf://owner/repo@revision/path`: the text form of a reference (the revision percent-encoded when it holds `/` or `@`). */
export function formatHubReference(ref: HubReference): string {
  const revision = ref.revision === undefined ? '' : `@${ref.revision.replace(/[%/@]/g, (c) => encodeURIComponent(c))}`;
  return `${HF_SCHEME}${ref.repo}${revision}${ref.path !== undefined ? `/${ref.path}` : ''}`;
}

/** The revision a reference names: its own, or DEFAULT_REVISION. */
export function revisionOf(ref: HubReference): string {
  return ref.revision ?? DEFAULT_REVISION;
}

/** The reference of a file inside the folder of `ref`'s file (a shard beside its index, a TF.js shard beside model.json), or ExternalDataRefused when `relative` leaves the repository. */
export function siblingReference(ref: HubReference, relative: string): HubReference {
  if (!isInsideFolder(relative)) {
    throw new TensorsafeError('ExternalDataRefused', `${JSON.stringify(relative)} is not a path inside the repository; only files of ${formatHubReference({ ...ref, path: undefined })} are read`, { location: relative });
  }
  const dir = ref.path === undefined || !ref.path.includes('/') ? '' : ref.path.slice(0, ref.path.lastIndexOf('/') + 1);
  return { ...ref, path: `${dir}${relative.replace(/\\/g, '/').replace(/^(\.\/)+/, '')}` };
}
