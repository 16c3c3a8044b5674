import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server that answers like the Hugging Face Hub, and a second one (another port, so another
 * origin) that serves the files' bytes like the Hub's content host:
 * - `GET /api/models/<owner>/<name>/revision/<rev>`: `{ id, sha, siblings: [{ rfilename }] }`;
 * - `GET /<owner>/<name>/resolve/<rev>/<path>`: 302 to the content host, with `X-Repo-Commit`,
 *   `X-Linked-Etag`, `X-Linked-Size` and `ETag`, as the Hub answers for a file kept in LFS;
 * - the content host: `GET /blobs/<sha256>` with range requests (206, Content-Range, ETag);
 * - auth: a private repository wants `Authorization: Bearer <token>` (401 + RepoNotFound without it,
 *   404 + RepoNotFound with another token), a gated one's files 403 + GatedRepo unless the token
 *   accepted its terms (its listing is public, as on the Hub); 404 + RevisionNotFound, 404 + EntryNotFound; `X-Error-Message` as the Hub sends it.
 * Every request is recorded (server, method, path, whether it carried Authorization, the Range).
 * Both answer CORS as the Hub does (any origin; the headers a reader needs exposed; preflights), so
 * that the web page can read them too.
 */

/** What the Hub's CORS answers allow and show, as far as a reader of files needs. */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Range, Content-Length, Accept-Ranges, ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, X-Error-Code, X-Error-Message',
};

/** Answers a CORS preflight (true) as the Hub does: GET and HEAD, with the headers a range reader sends. */
function preflight(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, { 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'Authorization, Range, If-Match, If-Unmodified-Since, Accept', 'access-control-max-age': '600' }).end();
  return true;
}

export interface FakeRepo {
  /** Branch or tag → commit. */
  refs: Map<string, string>;
  /** Commit → path → bytes. */
  commits: Map<string, Map<string, Uint8Array>>;
  private?: boolean;
  /** Tokens that accepted a gated repository's terms; the repository is gated when set. */
  gatedFor?: Set<string>;
  /** Called after the revision API answered for this repository (a test moves a branch here). */
  afterApi?: () => void;
}

export interface RecordedRequest {
  server: 'hub' | 'content';
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
  /** Every request header. */
  headers: http.IncomingHttpHeaders;
}

export interface FakeHub {
  /** The Hub's address (what HF_ENDPOINT is set to). */
  url: string;
  /** The content host's address. */
  contentUrl: string;
  repos: Map<string, FakeRepo>;
  /** The one valid token (private repositories accept it). */
  token: string;
  requests: RecordedRequest[];
  /** Makes every signed content URL given so far stop working (403), as expired ones do. */
  expireSignedUrls(): void;
  stop(): Promise<void>;
}

/** A commit hash for test commits: the SHA-1 of a label. */
export function commitOf(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

/** A repository with one commit `label` holding `files`, on `main`. */
export function repoWith(label: string, files: Record<string, Uint8Array>, extra: Partial<FakeRepo> = {}): FakeRepo {
  const sha = commitOf(label);
  return { refs: new Map([['main', sha]]), commits: new Map([[sha, new Map(Object.entries(files))]]), ...extra };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startFakeHub(token = 'hf_test_token_0123456789'): Promise<FakeHub> {
  const repos = new Map<string, FakeRepo>();
  const requests: RecordedRequest[] = [];
  const blobs = new Map<string, Uint8Array>();
  let signature = 1;
  const record = (server: 'hub' | 'content', req: http.IncomingMessage): void => {
    requests.push({ server, method: req.method ?? 'GET', path: req.url ?? '', authorization: req.headers.authorization, range: req.headers.range, headers: req.headers });
  };

  const content = http.createServer((req, res) => {
    record('content', req);
    if (preflight(req, res)) return;
    const m = /^\/blobs\/([0-9a-f]{64})\?X-Amz-Signature=(\d+)$/.exec(req.url ?? '');
    if (m && Number(m[2]) !== signature) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Request has expired');
      return;
    }
    const bytes = m ? blobs.get(m[1]!) : undefined;
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${m![1]}"`;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] === '' ? bytes.length - 1 : Number(range[2]), bytes.length - 1);
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': String(end - start + 1), etag, 'accept-ranges': 'bytes' });
      res.end(Buffer.from(bytes.subarray(start, end + 1)));
      return;
    }
    res.writeHead(200, { 'content-length': String(bytes.length), etag, 'accept-ranges': 'bytes' });
    res.end(Buffer.from(bytes));
  });
  const contentUrl = await listen(content);

  const hub = http.createServer((req, res) => {
    record('hub', req);
    if (preflight(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://hub');
    const fail = (status: number, code: string | undefined, message: string): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-error-code': code } : {}), 'x-error-message': message });
      res.end(JSON.stringify({ error: message }));
    };
    const api = /^\/api\/models\/([^/]+)\/([^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const m = api ?? resolve;
    if (!m) return fail(404, undefined, 'Not Found');
    const repoId = `${m[1]}/${m[2]}`;
    const repo = repos.get(repoId);
    const auth = req.headers.authorization;
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (repo === undefined || (repo.private && given !== token)) {
      // The Hub: 401 without a token, 404 with one that has no access; RepoNotFound either way.
      return fail(given === undefined ? 401 : 404, 'RepoNotFound', 'Repository not found');
    }
    // As the Hub: a gated repository's listing is public; its files are not, until its terms are accepted.
    if (resolve && repo.gatedFor && (given === undefined || !repo.gatedFor.has(given))) {
      return fail(403, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    }
    const revision = decodeURIComponent(m[3]!);
    const sha = repo.refs.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);
    if (sha === undefined) return fail(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    const files = repo.commits.get(sha)!;
    if (api) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: repoId, sha, private: Boolean(repo.private), gated: repo.gatedFor ? 'manual' : false, siblings: [...files.keys()].map((rfilename) => ({ rfilename })) }));
      repo.afterApi?.();
      return;
    }
    const path = m[4]!.split('/').map(decodeURIComponent).join('/');
    const bytes = files.get(path);
    if (bytes === undefined) return fail(404, 'EntryNotFound', `${path} does not exist on "${revision}"`);
    const hash = sha256(bytes);
    blobs.set(hash, bytes);
    res.writeHead(302, {
      location: `${contentUrl}/blobs/${hash}?X-Amz-Signature=${signature}`,
      'x-repo-commit': sha,
      'x-linked-etag': `"${hash}"`,
      'x-linked-size': String(bytes.length),
      etag: `"${hash}"`,
    });
    res.end();
  });
  const hubUrl = await listen(hub);

  return {
    url: hubUrl,
    contentUrl,
    repos,
    token,
    requests,
    expireSignedUrls() {
      signature++;
    },
    async stop() {
      await Promise.all(
        [hub, content].map((s) => {
          s.closeAllConnections();
          return new Promise<void>((resolve) => s.close(() => resolve()));
        }),
      );
    },
  };
}
