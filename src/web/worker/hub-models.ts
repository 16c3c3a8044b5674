import { parseHubReference, siblingReference } from '../../hub/reference.js';
import { openHubFile, resolveHubModel, type HubModel, type HubOptions } from '../../hub/resolve.js';
import type { ByteSource } from '../../io/byte-source.js';
import { openModelSource, type OpenedFile, type OpenFileOptions } from '../../model/open-source.js';
import { checkShards } from '../../model/shards.js';
import { failedModel, modelOf, type OpenModel } from './models.js';

/**
 * A model on the Hugging Face Hub, opened in the page as the CLI opens one (hub/resolve.ts): the
 * revision pinned to its commit, the model picked among the repository's files as in a folder, a
 * sharded set's index followed, every file read lazily with range requests at that commit. A token,
 * when given, goes to the Hub's origin only (never to its content host), and stays in the worker.
 */

/** Opens the model a Hub reference names (on `endpoint`, default the Hugging Face Hub); a failure is a card that says why, as for a URL. */
export async function openHubReference(text: string, given: { token?: string | undefined; endpoint?: string | undefined } = {}): Promise<OpenModel> {
  const token = given.token?.trim();
  const endpoint = given.endpoint?.trim();
  const options: HubOptions = { ...(token ? { token } : {}), ...(endpoint ? { endpoint } : {}) };
  let model: HubModel;
  try {
    model = await resolveHubModel(text, options);
  } catch (e) {
    return failedModel(text, [{ name: text, size: 0 }], e, undefined);
  }
  // One file of the model, by its pinned reference.
  const open = async (reference: string, openOptions: OpenFileOptions): Promise<OpenedFile> => {
    const ref = parseHubReference(reference)!;
    const { source } = await openHubFile(ref.repo, model.commit, ref.path!, options);
    // A TF.js manifest's shards, ONNX external data: files of the same repository at the same commit.
    const openSibling = async (relative: string): Promise<ByteSource> => {
      const sibling = siblingReference(ref, relative);
      return (await openHubFile(sibling.repo, model.commit, sibling.path!, options)).source;
    };
    return openModelSource(source, reference, { openSibling }, openOptions);
  };
  // The card is named after the index of a sharded set, else the model's one file, at its commit.
  const name = model.index?.reference ?? model.files[0]!.reference;
  const opened: OpenedFile[] = [];
  try {
    for (const file of model.files) opened.push(await open(file.reference, { scan: true }));
    if (model.weightMap) checkShards(model.index!.reference, model.weightMap, opened);
  } catch (e) {
    await Promise.all(opened.map((o) => o.tensors.close()));
    return failedModel(name, model.files.map((f) => ({ name: f.reference, size: 0 })), e, undefined);
  }
  return { ...modelOf(name, opened, model.files.map(() => undefined), model.weightMap), reopenRemote: open };
}
