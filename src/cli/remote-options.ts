import { TensorsafeError } from '../errors.js';
import { useHubCredentials } from '../node/hub.js';
import { UsageError } from './usage.js';

/**
 * The options every command that reads a path or URL shares for remote inputs: the Hub token and
 * request headers (node/hub.ts), and their help. A token's value is never printed.
 */

/** parseArgs options: `--token T`, `--header 'Name: value'` (repeatable). */
export const REMOTE_OPTIONS = {
  token: { type: 'string' },
  header: { type: 'string', multiple: true },
} as const;

/** Sets this run's token and headers (replacing an earlier run's, when the CLI runs in-process); a bad --header is a usage error. */
export function applyRemoteOptions(values: { token?: string; header?: string[] }): void {
  if (values.token !== undefined && values.token.trim() === '') throw new UsageError('--token is empty');
  try {
    useHubCredentials({ ...(values.token !== undefined ? { token: values.token.trim() } : {}), headers: values.header ?? [] });
  } catch (e) {
    throw e instanceof TensorsafeError ? new UsageError(e.message) : e;
  }
}

/** The help paragraph on Hub references, --token and --header, the same for every command. */
export const REMOTE_HELP = `Hugging Face Hub and URLs:
  hf://owner/repo[@REV]/PATH  a file of a Hub repository at a branch, tag or
                              commit (default main), pinned to its commit
  owner/repo, owner/repo@REV  the repository's model, picked from its files as
                              in a folder (a local path of that name wins)
  --token TOKEN               Hub access token; else HF_TOKEN, else the token
                              file of \`hf auth login\` (HF_TOKEN_PATH, else
                              $HF_HOME/token); sent to the Hub only, never
                              printed
  --header 'NAME: VALUE'      a request header for URLs (repeatable), sent to
                              the URL's host and the Hub's, never to a host
                              a redirect leads to
  HF_ENDPOINT sets the Hub's address (default https://huggingface.co); files
  already in the Hugging Face cache (HF_HUB_CACHE, else $HF_HOME/hub, else
  ~/.cache/huggingface/hub) are read from it with no request; HF_HUB_OFFLINE=1
  makes no request at all.`;
