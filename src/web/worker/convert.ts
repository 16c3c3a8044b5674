import { IoError, TensorsafeError } from '../../errors.js';
import { summarizeConversion, writeOutputs, type ConversionPlan } from '../../convert/pipeline.js';
import { hasHubScheme } from '../../hub/reference.js';
import { isHttpUrl } from '../../io/url-inside.js';
import {
  checkConvertChoices,
  checkSidecar,
  checkSources,
  outputNameFor,
  outputStem,
  planModelConversion,
  PROVENANCE_KEY,
  provenanceValue,
  scanNotes,
  sidecarPathFor,
  sourceRecord,
  urlRecordName,
  withDequantizeHint,
  type CheckedChoices,
  type ConvertChoices,
  type OutputNames,
  type SourceRecord,
} from '../../model/convert-setup.js';
import { openModelSource, openModelUrl, type OpenedFile } from '../../model/open-source.js';
import { opfsRoot, type DirectoryHandle } from '../fsa.js';
import type { ConvertChoicesWeb, ConvertPlanInfo, ConvertResult, Delivery, WebConvertSummary } from '../protocol.js';
import { dirName } from './dropped-files.js';
import type { JobContext } from './jobs.js';
import type { OpenModel } from './models.js';
import { OpfsSink } from './opfs-sink.js';
import { ReadAheadSource } from './read-ahead.js';

/**
 * A conversion in the page: the CLI's pipeline (convert/pipeline.ts) with the CLI's setup
 * (model/convert-setup.ts: options, names, the record of the sources, the plan), writing into the
 * page's private storage (OPFS, opfs-sink.ts) as the CLI writes into temporary files; a tensor the
 * dropped file holds as it is goes into the output by reference to that file's bytes, not copied
 * (opfs-sink.ts). Every tensor is checked against the source before anything is delivered; only
 * then are the files streamed into what the user picked (File System Access) or handed to the page
 * for downloading.
 */

/** Every job's folder in OPFS starts so; one whose lock is free is left over from a closed page and is removed. */
const FOLDER_PREFIX = 'tensorsafe-convert-';

/** The Web Locks held for the folders whose files wait to be downloaded: released (and the folder removed) by `discardConversion`. */
const held = new Map<string, () => void>();

/** The files a conversion of `model` with these options will write, without writing anything (for the page's pickers). */
export async function planInPage(model: OpenModel, choices: ConvertChoicesWeb): Promise<ConvertPlanInfo> {
  const setup = await prepare(model, choices);
  try {
    return { files: deliveryOrder(setup.plan) };
  } finally {
    await setup.close();
  }
}

/** Converts `model`, checks every output against it, then delivers the outputs. */
export async function convertInPage(model: OpenModel, choices: ConvertChoicesWeb, deliver: Delivery, context: JobContext): Promise<ConvertResult> {
  const started = Date.now();
  const setup = await prepare(model, choices);
  const { plan, opened } = setup;
  const names = deliveryOrder(plan);
  let folderName = '';
  let root: DirectoryHandle | undefined;
  try {
    if (deliver.kind === 'file' && names.length !== 1) throw new TensorsafeError('InvalidArgument', `this conversion writes ${names.length} files (${names.join(', ')}): save them into a folder`, { location: names[0] });
    if (deliver.kind === 'folder') await refuseExisting(deliver.handle, names);
    root = await opfsRoot().catch((e: unknown) => {
      throw new TensorsafeError('UnsupportedFormat', `converting in the page needs the browser's Origin Private File System for its temporary files: ${e instanceof Error ? e.message : String(e)}`);
    });
    await removeLeftovers(root);
    folderName = `${FOLDER_PREFIX}${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    held.set(folderName, await holdLock(folderName));
    const folder = await root.getDirectoryHandle(folderName, { create: true });
    let index: { name: string; bytes: Uint8Array } | undefined;
    const sinks = new Map<string, OpfsSink>();
    const sinkFor = async (name: string): Promise<OpfsSink> => {
      const sink = await OpfsSink.create(folder, name, context.signal);
      sinks.set(name, sink);
      return sink;
    };
    await withDequantizeHint(opened, choices.dequantize, () =>
      writeOutputs(plan, {
        framework: opened[0]?.format.framework,
        records: { [PROVENANCE_KEY]: provenanceValue(setup.records) },
        createSink: (i) => sinkFor(plan.files[i]!),
        openWritten: (sink) => sink.source(),
        // The index is small (names and file names): it is kept in memory and delivered with the files.
        writeIndex: (name, bytes) => {
          index = { name, bytes };
        },
        createCompanionSink: (name) => sinkFor(name),
        onProgress: (p) => context.progress({ phase: p.phase, done: p.bytesDone, total: p.bytesTotal, detail: p.tensor }),
      }),
    );
    const summary = summaryOf(plan, opened, setup.records, started);
    const fileOf = async (name: string): Promise<File> => (index?.name === name ? new File([index.bytes as Uint8Array<ArrayBuffer>], name) : sinks.get(name)!.file(folder));
    if (deliver.kind === 'download') {
      const files = [];
      for (const name of names) {
        const file = await fileOf(name);
        files.push({ name, size: file.size, file });
      }
      // The files stay until the page has downloaded them (discardConversion).
      return { summary, files, folder: folderName };
    }
    const files = [];
    const total = names.length;
    for (const [i, name] of names.entries()) {
      const file = await fileOf(name);
      context.progress({ phase: 'save', done: i, total, detail: name });
      const target = deliver.kind === 'file' ? deliver.handle : await deliver.handle.getFileHandle(name, { create: true });
      const writable = await target.createWritable();
      // Streamed, never whole in memory; a cancel aborts the writable, which leaves the target as it was.
      await file.stream().pipeTo(writable, { signal: context.signal });
      files.push({ name, size: file.size });
    }
    context.progress({ phase: 'save', done: total, total });
    await discardConversion(folderName, root);
    return { summary, files, folder: '' };
  } catch (e) {
    if (folderName !== '') await discardConversion(folderName, root);
    if (context.signal.aborted && !(e instanceof TensorsafeError)) throw new IoError('Aborted', 'the conversion was cancelled; nothing was kept');
    throw e;
  } finally {
    await setup.close();
  }
}

/** Removes a conversion's temporary folder (its files were downloaded, or are no longer wanted) and releases its lock. */
export async function discardConversion(folderName: string, root?: DirectoryHandle): Promise<void> {
  if (!folderName.startsWith(FOLDER_PREFIX)) throw new TensorsafeError('InvalidArgument', `${folderName} is not a conversion's folder`, { location: folderName });
  try {
    await (root ?? (await opfsRoot())).removeEntry(folderName, { recursive: true });
  } catch {
    // already gone
  } finally {
    held.get(folderName)?.();
    held.delete(folderName);
  }
}

interface Setup {
  readonly opened: readonly OpenedFile[];
  readonly plan: ConversionPlan;
  readonly records: SourceRecord[];
  readonly checked: CheckedChoices;
  /** Closes what was opened for this conversion only (the model's files reopened for --dequantize). */
  close(): Promise<void>;
}

/** The options checked, the sources checked, the output named and planned, as the CLI does (model/convert-setup.ts). */
async function prepare(model: OpenModel, web: ConvertChoicesWeb): Promise<Setup> {
  const choices: ConvertChoices = {
    to: web.to,
    ...(web.maxShardSize !== undefined && web.maxShardSize.trim() !== '' ? { maxShardSize: web.maxShardSize.trim() } : {}),
    ...(web.dtype ? { dtype: web.dtype } : {}),
    ...(web.quantize ? { quantize: web.quantize } : {}),
    ...(web.arch !== undefined && web.arch.trim() !== '' ? { arch: web.arch.trim() } : {}),
    ...(web.dequantize ? { dequantize: true } : {}),
    ...(web.allowRaw ? { allowRaw: true } : {}),
  };
  let checked: CheckedChoices;
  try {
    checked = checkConvertChoices(choices);
  } catch (e) {
    // parseSize's own errors say what a size is; the page names the field as the CLI names the flag.
    if (e instanceof TensorsafeError || !(e instanceof Error)) throw e;
    throw new TensorsafeError('InvalidArgument', `--max-shard-size: ${e.message}`, { location: choices.maxShardSize === undefined ? undefined : String(choices.maxShardSize) });
  }
  const { output } = checked;
  // A model that could not be opened (the page shows no convert button for it): why, under its verdict's code.
  if (model.opened.length === 0) {
    const why = model.summary.error ? `${model.summary.error.code}: ${model.summary.error.message}` : 'it holds no tensors';
    throw new TensorsafeError(model.summary.verdict === 'dangerous' ? 'UnsafeFile' : 'NoTensors', `${model.summary.name} cannot be converted: ${why}`, { location: model.summary.name });
  }
  const reopened = choices.dequantize ? await reopenDequantized(model) : undefined;
  const opened = reopened ?? model.opened;
  const close = async (): Promise<void> => {
    if (reopened) await Promise.all(reopened.map((o) => o.tensors.close()));
  };
  try {
    checkSources(model.summary.name, opened, choices, output);
    const name = model.summary.name;
    const remote = isHttpUrl(name) || hasHubScheme(name);
    let names: OutputNames;
    if (model.weightMap) names = { stem: 'model', single: output.fileName('model'), index: model.weightMap };
    else {
      // A URL's or Hub file's output is named after its last path segment, as the CLI names a local file's.
      const last = isHttpUrl(name) ? decodeURIComponent(new URL(name).pathname.split('/').pop() ?? '') : name.split('/').pop() ?? '';
      const single = outputNameFor(remote ? last || 'model' : name, output);
      names = { stem: outputStem(single, output), single };
    }
    const sidecar = output.typedMetadata && !remote ? await readSidecar(model, opened[0]!.file) : undefined;
    const plan = planModelConversion(opened, choices, checked, names, () => sidecar);
    // The CLI writes beside the model: its record names each source relative to the model's folder.
    const dir = dirName(model.summary.name);
    const records = opened.map((o, i) => {
      const file = model.sources[i];
      // A Hub file is recorded by its pinned reference (hf://owner/repo@<commit>/<path>), as the CLI records it.
      if (file === undefined) return { file: hasHubScheme(o.file) ? o.file : urlRecordName(o.file), size: o.size, mtime: '' };
      return sourceRecord(dir === '' ? o.file : o.file.slice(dir.length + 1), file.size, file.lastModified);
    });
    return { opened, plan, records, checked, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The model's files opened again with --dequantize (a TFLite's quantized tensors read as F32), scanned again as the CLI does. */
async function reopenDequantized(model: OpenModel): Promise<OpenedFile[]> {
  const opened: OpenedFile[] = [];
  try {
    for (const [i, o] of model.opened.entries()) {
      const file = model.sources[i];
      if (file === undefined) opened.push(await (model.reopenRemote ?? openModelUrl)(o.file, { scan: true, dequantize: true }));
      else {
        const dropped = model.dropped;
        opened.push(await openModelSource(new ReadAheadSource(file, o.file), o.file, { ...(dropped ? { openSibling: (relative: string) => dropped.openSibling(o.file, relative) } : {}), dir: dirName(o.file) || '.' }, { scan: true, dequantize: true }));
      }
    }
    return opened;
  } catch (e) {
    await Promise.all(opened.map((o) => o.tensors.close()));
    throw e;
  }
}

/** The GGUF metadata sidecar beside the source, when it was dropped with it (the CLI reads it from the source's folder). */
async function readSidecar(model: OpenModel, source: string): Promise<{ text: string; name: string } | undefined> {
  const name = sidecarPathFor(source);
  const file = model.dropped?.get(name);
  if (file === undefined) return undefined;
  checkSidecar(name, source, file.size);
  return { text: await file.text(), name };
}

/** Outputs, then the index, then companions: what the user gets. */
function deliveryOrder(plan: ConversionPlan): string[] {
  return [...plan.files, ...(plan.indexFile ? [plan.indexFile] : []), ...plan.companions.map((c) => c.file)];
}

function summaryOf(plan: ConversionPlan, opened: readonly OpenedFile[], records: SourceRecord[], started: number): WebConvertSummary {
  const summary = summarizeConversion(plan);
  return {
    ...summary,
    inputs: opened.map((o) => o.file),
    outputs: [...plan.files],
    index: plan.indexFile,
    notes: [...summary.notes, ...scanNotes(opened)],
    verified: true,
    sources: records.map((r) => ({ ...r })),
    seconds: (Date.now() - started) / 1000,
  };
}

/** A picked folder's files are never replaced: the CLI replaces nothing it did not write either. */
async function refuseExisting(folder: DirectoryHandle, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const exists = await folder.getFileHandle(name).then(() => true, () => false);
    if (exists) throw new IoError('OutputExists', `${folder.name}/${name} already exists; it was left as it is (pick an empty folder)`, { location: name });
  }
}

interface Locks {
  request(name: string, callback: (lock: unknown) => Promise<void>): Promise<void>;
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>;
}

function locks(): Locks | undefined {
  return (globalThis.navigator as { locks?: Locks } | undefined)?.locks;
}

/** Holds a Web Lock named after the folder while the conversion uses it (another page of this site then leaves it alone); resolves to its release. */
function holdLock(name: string): Promise<() => void> {
  const l = locks();
  if (l === undefined) return Promise.resolve(() => undefined);
  return new Promise((acquired) => {
    void l.request(name, () => new Promise<void>((release) => acquired(release)));
  });
}

/** Removes the folders of conversions whose page was closed before they were discarded (no one holds their lock). */
async function removeLeftovers(root: DirectoryHandle): Promise<void> {
  const l = locks();
  if (l === undefined) return;
  const names: string[] = [];
  for await (const name of root.keys()) if (name.startsWith(FOLDER_PREFIX) && !held.has(name)) names.push(name);
  for (const name of names) {
    await l.request(name, { ifAvailable: true }, async (lock) => {
      if (lock) await root.removeEntry(name, { recursive: true }).catch(() => undefined);
    });
  }
}
