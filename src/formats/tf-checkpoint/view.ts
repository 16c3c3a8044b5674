import type { FormatView, ViewRow } from '../format.js';
import { viewValue } from '../format.js';
import type { TfCheckpointStructure } from './reader.js';

/** The TensorFlow checkpoint's own view for inspect: the bundle header, the index, the shards, the object graph, and a SavedModel's meta graphs and ops. */
export function describeTfCheckpoint(s: TfCheckpointStructure): FormatView {
  const rows: ViewRow[] = [
    { key: 'kind', value: s.kind === 'saved-model' ? 'SavedModel' : 'checkpoint (tensor bundle)' },
    { key: 'index', value: `${s.index} (${s.entries} entries, ${s.dataBlocks} data blocks${s.snappyBlocks > 0 ? `, ${s.snappyBlocks} Snappy-compressed` : ''})` },
    { key: 'byte order', value: s.header.bigEndian ? 'big-endian' : 'little-endian' },
    { key: 'version', value: `producer ${s.header.producer}, min consumer ${s.header.minConsumer}` },
    { key: 'shards', value: `${s.header.numShards} declared; ${s.shards.map((x) => `${x.path} (${x.size} bytes)`).join(', ') || 'none read'}` },
  ];
  if (s.partitioned > 0) rows.push({ key: 'partitioned variables', value: String(s.partitioned) });
  if (s.objectGraph) rows.push({ key: 'object graph', value: `${s.objectGraph.nodes} objects, ${s.objectGraph.attributes} saved attributes, ${s.objectGraph.slotVariables} slot variables` });
  const view: FormatView[number][] = [{ title: 'TensorFlow', rows }];
  const m = s.savedModel;
  if (m) {
    const graphs: ViewRow[] = [{ key: 'schema version', value: String(m.schemaVersion) }];
    for (const [i, g] of m.metaGraphs.entries()) {
      graphs.push({ key: `meta graph ${i}`, value: viewValue(`tags [${g.tags.join(', ')}], ${g.nodes} nodes, ${g.functions} functions${g.tensorflowVersion ? `, TensorFlow ${g.tensorflowVersion}` : ''}`) });
    }
    view.push({ title: 'SavedModel', rows: graphs });
    const ops = new Map<string, number>();
    for (const n of m.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
    view.push({ title: 'ops', rows: [...ops].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([key, n]) => ({ key, value: String(n) })) });
  }
  return view;
}
