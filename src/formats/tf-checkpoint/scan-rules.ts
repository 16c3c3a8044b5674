import type { GraphNode, SavedModelInfo, UserObjectMetadata } from './saved-model.js';
import { at, show, type Findings, pathEscape } from '../scan-rules.js';
import { walkKerasConfig } from '../keras/config-rules.js';
import { MAX_TF_KERAS_METADATA_BYTES } from './limits.js';

/**
 * Scan rules of a SavedModel's graph (saved_model.pb read as data, never run). TensorFlow runs any op a
 * graph names when a signature or function is called (tensorflow/SECURITY.md: "TensorFlow models are
 * programs"); these are the ops that reach outside the tensors: they read or write files, run Python,
 * map memory or open connections. modelscan flags ReadFile and WriteFile; the rest are TensorFlow ops
 * with the same reach. The saver's own SaveV2/RestoreV2/MergeV2Checkpoints (inside the
 * `__inference__traced_save_*` / `__inference__traced_restore_*` functions TF2 writes, or under the TF1
 * `save/` scope) write and read the checkpoint the caller names: info, not a finding, unless a function
 * calls the saver function (TF calls it from the graph only; a signature calling it saves or restores
 * where its own constants say). The Keras layer metadata of the object graph (SavedUserObject) is read
 * with the Keras config rules: tf.keras revives a Lambda layer's marshalled code from it.
 *
 * Rules: `tf/file-op`, `tf/python-op`, `tf/network-op` (dangerous); `tf/checkpoint-op` (dangerous outside
 * the saver), `tf/debug-url` (dangerous), `tf/asset-path-outside` (dangerous); `tf/saver-op`, `tf/valid` (info);
 * `tf/malformed`, `tf/limit-exceeded`, `tf/bad-crc` (suspicious). Misses: what custom ops (kernels
 * loaded from shared libraries) do; ops reached through functions of other files.
 */

/** Ops that read, write, list or map files. */
export const FILE_OPS: ReadonlySet<string> = new Set([
  'ReadFile', 'WriteFile', 'MatchingFiles', 'ImmutableConst', 'LoadAndRemapMatrix', 'WholeFileReader', 'WholeFileReaderV2',
  'TextLineReader', 'TextLineReaderV2', 'FixedLengthRecordReader', 'FixedLengthRecordReaderV2', 'TFRecordReader',
  'TFRecordReaderV2', 'IdentityReader', 'LMDBReader', 'TextLineDataset', 'TFRecordDataset', 'TFRecordDatasetV2',
  'FixedLengthRecordDataset', 'FixedLengthRecordDatasetV2', 'ExperimentalLMDBDataset', 'LMDBDataset',
  'InitializeTableFromTextFile', 'InitializeTableFromTextFileV2', 'CreateSummaryFileWriter', 'CreateSummaryDbWriter',
  'WriteAudioSummary', 'WriteGraphSummary', 'WriteHistogramSummary', 'WriteImageSummary', 'WriteRawProtoSummary',
  'WriteScalarSummary', 'WriteSummary', 'SaveDataset', 'SaveDatasetV2', 'LoadDataset', 'ExperimentalSaveDataset',
  'SnapshotDataset', 'SnapshotDatasetV2', 'CacheDatasetV2', 'DatasetToTFRecord', 'ExperimentalDatasetToTFRecord',
  'DecodeProtoV2', 'GenerateVocabRemapping', 'ReadTextFile',
]);
/** Ops that run Python code (a function registered by the process that saved the model, looked up by token). */
export const PYTHON_OPS: ReadonlySet<string> = new Set(['PyFunc', 'PyFuncStateless', 'EagerPyFunc']);
/** Ops that open connections or talk to other processes. */
export const NETWORK_OPS: ReadonlySet<string> = new Set([
  'SqlDataset', 'ExperimentalSqlDataset', 'DataServiceDataset', 'DataServiceDatasetV2', 'DataServiceDatasetV3',
  'DataServiceDatasetV4', 'RegisterDataset', 'RegisterDatasetV2', 'BigQueryReader', 'CollectiveReduce',
  'CollectiveBcastSend', 'CollectiveBcastRecv', '_Send', '_Recv', '_HostSend', '_HostRecv', 'RpcCall', 'RpcClient', 'RpcServer',
  'RpcServerStart', 'RpcServerRegister', 'Rpc', 'TryRpc', 'GcsConfigureCredentials', 'GcsConfigureBlockCache',
]);
/** Checkpoint ops: they read or write the files their inputs name. */
export const CHECKPOINT_OPS: ReadonlySet<string> = new Set(['Save', 'SaveV2', 'SaveSlices', 'Restore', 'RestoreV2', 'RestoreSlice', 'MergeV2Checkpoints']);
/** Debug ops whose `debug_urls` attribute sends tensors to files or gRPC servers. */
export const DEBUG_OPS: ReadonlySet<string> = new Set(['DebugIdentity', 'DebugIdentityV2', 'DebugIdentityV3', 'DebugNanCount', 'DebugNumericSummary', 'DebugNumericSummaryV2', 'CopyHost', 'Copy']);

/** Where TF2 and TF1 put the saver's own checkpoint ops. */
const SAVER_FUNCTION = /^function __inference__traced_(save|restore)_\d+$/;
const SAVER_SCOPE = /^save(_\d+)?\//;

function place(n: GraphNode): string {
  return `${n.where === 'graph' ? 'the graph' : n.where} of meta graph ${n.metaGraph}, node ${show(n.name)}`;
}

export function scanGraph(info: SavedModelInfo, findings: Findings, file: string): void {
  let saverOps = 0;
  const calledByFunctions = new Set<string>();
  for (const n of info.nodes) if (n.where !== 'graph') for (const c of n.calls) calledByFunctions.add(`function ${c}`);
  const isSaver = (n: GraphNode): boolean =>
    (SAVER_FUNCTION.test(n.where) && !calledByFunctions.has(n.where)) || (n.where === 'graph' && SAVER_SCOPE.test(n.name));
  for (const n of info.nodes) {
    if (FILE_OPS.has(n.op)) {
      findings.add('dangerous', 'tf/file-op', `${place(n)} is the op ${n.op}: it reads or writes files when the graph runs`, file);
    } else if (PYTHON_OPS.has(n.op)) {
      findings.add('dangerous', 'tf/python-op', `${place(n)} is the op ${n.op}: it runs Python code registered in the process that loads the model`, file);
    } else if (NETWORK_OPS.has(n.op)) {
      findings.add('dangerous', 'tf/network-op', `${place(n)} is the op ${n.op}: it opens connections or talks to other processes when the graph runs`, file);
    } else if (CHECKPOINT_OPS.has(n.op)) {
      if (isSaver(n)) saverOps++;
      else findings.add('dangerous', 'tf/checkpoint-op', `${place(n)} is the op ${n.op} outside the saver's own functions: it reads or writes the files its inputs name`, file);
    } else if (DEBUG_OPS.has(n.op)) {
      const urls = [...(n.strings.get('debug_urls') ?? [])].filter((u) => u !== '');
      if (urls.length > 0) findings.add('dangerous', 'tf/debug-url', `${place(n)} is the op ${n.op} with debug_urls ${urls.map(show).join(', ')}: it sends tensors to files or servers when the graph runs`, file);
    } else if (n.op === 'PrintV2') {
      const stream = n.strings.get('output_stream')?.[0] ?? '';
      if (stream.startsWith('file://')) findings.add('dangerous', 'tf/file-op', `${place(n)} is PrintV2 writing to ${show(stream)}: it writes a file when the graph runs`, file);
    }
  }
  if (saverOps > 0) findings.add('info', 'tf/saver-op', `${saverOps} checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints) in the saver's own functions: they write and read the checkpoint the caller names`, file);
  scanKerasMetadata(info.userMetadata, findings, file);
  for (const a of info.assets) {
    const why = a === '' ? 'it is empty' : pathEscape(a);
    if (why !== undefined) findings.add('dangerous', 'tf/asset-path-outside', `the asset file ${show(a)} ${why}: the loader reads assets from the assets/ folder`, at(file));
  }
}

/** Keras layer metadata (a SavedUserObject's, or keras_metadata.pb's) checked with the Keras config rules. */
export function scanKerasMetadata(metadata: readonly UserObjectMetadata[], findings: Findings, file: string): void {
  for (const m of metadata) {
    const location = `${file}:${m.where}`;
    if (m.json === undefined) {
      findings.add('suspicious', 'tf/limit-exceeded', `the Keras metadata of ${m.where} (${m.bytes} bytes) is past MAX_TF_KERAS_METADATA_BYTES (${MAX_TF_KERAS_METADATA_BYTES}) with the metadata before it; not scanned`, location);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(m.json) as unknown;
    } catch {
      findings.add('suspicious', 'tf/malformed', `the Keras metadata of ${m.where} is not valid JSON; tf.keras would refuse it, another parser may not`, location);
      continue;
    }
    walkKerasConfig(value, findings, location);
  }
}
