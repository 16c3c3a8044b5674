import { TensorsafeError } from '../errors.js';

/**
 * The Hub's refusals as coded errors. The status alone cannot tell them apart (a missing repository, a
 * missing revision and a missing file are all 404; a private repository asked for without a token is
 * 401): the Hub says which in its `X-Error-Code` header (RepoNotFound, RevisionNotFound, EntryNotFound,
 * GatedRepo), with a sentence in `X-Error-Message`, as huggingface_hub's hf_raise_for_status reads them.
 */

/** Characters of the Hub's X-Error-Message kept in a message: a server's text is bounded before it is shown. */
export const MAX_HUB_MESSAGE_CHARS = 300;

/** What a request was for, to say so in the error. */
export interface HubRequestContext {
  /** The Hub's address (`https://huggingface.co`). */
  endpoint: string;
  repo: string;
  revision: string;
  /** The file asked for, when the request was for one. */
  path?: string;
  /** Whether a token was sent: a private repository reads as missing without one. */
  withToken: boolean;
}

/** The coded error for a Hub answer of 401, 403 or 404; undefined for other statuses (the caller's usual handling). */
export function hubErrorOf(res: Response, context: HubRequestContext): TensorsafeError | undefined {
  if (res.status !== 401 && res.status !== 403 && res.status !== 404) return undefined;
  const code = res.headers.get('x-error-code');
  const said = serverText(res.headers.get('x-error-message'));
  const { endpoint, repo, revision, path, withToken } = context;
  const where = path === undefined ? `${repo}@${revision}` : `${repo}@${revision}/${path}`;
  const options = { location: where };
  const tokenHint = 'pass --token, set HF_TOKEN, or log in with `hf auth login`';
  if (code === 'GatedRepo') {
    return new TensorsafeError(
      'HubGatedRepo',
      `${repo} is a gated repository: accept its terms at ${endpoint}/${repo}${withToken ? ' with the account this token belongs to' : `, then ${tokenHint}`}${said}`,
      options,
    );
  }
  if (code === 'RevisionNotFound') return new TensorsafeError('HubRevisionNotFound', `${repo}: no such revision "${revision}" (a branch, tag or commit hash)${said}`, options);
  if (code === 'EntryNotFound') return new TensorsafeError('HubEntryNotFound', `${where}: no such file at that revision${said}`, options);
  if (code === 'RepoNotFound' || (res.status === 401 && !withToken) || (res.status === 404 && code === null && path === undefined)) {
    return new TensorsafeError(
      'HubRepoNotFound',
      withToken
        ? `${repo}: no such repository on ${endpoint}, or the token given has no access to it${said}`
        : `${repo}: private or no such repository on ${endpoint}: if it is private, ${tokenHint}${said}`,
      options,
    );
  }
  if (res.status === 404) return new TensorsafeError('HubEntryNotFound', `${where}: no such file at that revision (HTTP 404)${said}`, options);
  return new TensorsafeError(
    'HubAccessDenied',
    `${where}: the Hub refused access (HTTP ${res.status})${withToken ? '; check that the token is valid and may read this repository' : `; ${tokenHint}`}${said}`,
    options,
  );
}

/** The Hub's own sentence, bounded and on one line, as `: …`; empty when there is none. */
function serverText(text: string | null): string {
  if (text === null) return '';
  const clean = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, MAX_HUB_MESSAGE_CHARS);
  return clean === '' ? '' : ` (the Hub says: ${clean})`;
}
