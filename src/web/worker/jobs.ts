import { TensorsafeError } from '../../errors.js';
import type { ProgressInfo, Request } from '../protocol.js';
import { closeModel, openDropped, openUrl, type OpenModel } from './models.js';
import { isHubReference } from '../../hub/reference.js';
import { openHubReference } from './hub-models.js';
import { convertInPage, discardConversion, planInPage } from './convert.js';
import { generateKeys, hashFile, safetensorsFileOf, signFile, tensorStats, verifyModels, verifySignature } from './tool-jobs.js';
import { summariesForPage } from './transfer.js';

/** What a job is given besides its request: where its progress goes, and whether it was cancelled. */
export interface JobContext {
  progress(p: ProgressInfo): void;
  /** Aborted when the page cancels the job. */
  readonly signal: AbortSignal;
}

/** The models the page has open, by id. */
export const openModels = new Map<string, OpenModel>();

export function modelOf(id: string): OpenModel {
  const model = openModels.get(id);
  if (model === undefined) throw new TensorsafeError('InvalidArgument', `model ${id} is not open (it was closed)`, { location: id });
  return model;
}

/** A job by its name: each takes its request and answers with structured-clonable data. */
export type JobHandler<R extends Request = Request> = (request: R, context: JobContext) => Promise<unknown>;

type Handlers = { [J in Request['job']]: JobHandler<Extract<Request, { job: J }>> };

export const JOBS: Handlers = {
  'open-files': async (request, context) => {
    const models = await openDropped(request.files, (done, total, detail) => context.progress({ phase: 'open', done, total, detail }));
    for (const m of models) openModels.set(m.summary.id, m);
    return summariesForPage(models.map((m) => m.summary));
  },
  'open-url': async (request) => {
    const model = isHubReference(request.url) ? await openHubReference(request.url, { token: request.token, endpoint: request.endpoint }) : await openUrl(request.url);
    openModels.set(model.summary.id, model);
    return summariesForPage([model.summary]);
  },
  close: async (request) => {
    const model = openModels.get(request.model);
    openModels.delete(request.model);
    if (model) await closeModel(model);
    return null;
  },
  // Conversion (convert.ts)
  'convert-plan': (request) => planInPage(modelOf(request.model), request.options),
  convert: (request, context) => convertInPage(modelOf(request.model), request.options, request.deliver, context),
  'convert-discard': async (request) => {
    await discardConversion(request.folder);
    return null;
  },
  // The page's tools and a tensor's values (tool-jobs.ts).
  'tensor-stats': (request, context) => tensorStats(request, modelOf(request.model), context),
  'verify-models': (request, context) => verifyModels(request, modelOf(request.a), modelOf(request.b), context),
  hash: (request, context) => hashFile('model' in request ? safetensorsFileOf(modelOf(request.model)) : request.file, context),
  sign: (request, context) => signFile(request, context),
  'verify-signature': (request, context) => verifySignature(request, context),
  'generate-keys': () => generateKeys(),
};
