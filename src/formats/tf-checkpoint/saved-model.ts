import type { ByteSource } from '../../io/byte-source.js';
import { PagedReader } from '../../io/cursor.js';
import { limitExceeded } from '../../io/format-problem.js';
import { readPbString, walkField, walkMessage, WIRE_LEN, type PbField, type PbWalk } from '../protobuf/wire.js';
import { MAX_TF_KERAS_METADATA_BYTES, MAX_TF_KEY_BYTES, MAX_TF_PROTO_FIELDS, MAX_TF_SAVED_MODEL_BYTES } from './limits.js';

/**
 * What saved_model.pb says, read as data (tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
 * graph.proto, node_def.proto, function.proto): SavedModel (saved_model_schema_version 1, meta_graphs
 * 2) → MetaGraphDef (meta_info_def 1: tags 4, tensorflow_version 5; graph_def 2; asset_file_def 6:
 * filename 2; object_graph_def 7: SavedObjectGraph nodes 1 → SavedObject user_object 4 →
 * SavedUserObject metadata 3, the Keras layer JSON tf.keras revives layers, Lambdas included, from) → GraphDef (node 1, library 2) → NodeDef (name 1, op 2, attr 5: AttrValue s 2, list 1 of
 * s 2, func 10 and list func 9: NameAttrList name 1) and FunctionDefLibrary (function 1) → FunctionDef (signature 1: OpDef name 1; node_def 3). Every
 * node's op is collected with where it is (graph or function) and its string attributes (file names,
 * debug URLs); tensor contents are skipped, never read.
 */

export interface GraphNode {
  readonly op: string;
  readonly name: string;
  /** `graph` or the function it is in. */
  readonly where: string;
  /** The meta graph it is in. */
  readonly metaGraph: number;
  /** String values of its attributes (`debug_urls`, `filename`, `output_stream`), by attribute name. */
  readonly strings: ReadonlyMap<string, readonly string[]>;
  /** The functions it calls: its op when that is a function of the library, and its `func` attributes. */
  readonly calls: readonly string[];
}

/** A SavedUserObject's metadata (Keras layer JSON), or its size when past MAX_TF_KERAS_METADATA_BYTES. */
export interface UserObjectMetadata {
  readonly where: string;
  readonly json: string | undefined;
  readonly bytes: number;
}

export interface SavedModelInfo {
  readonly schemaVersion: number;
  readonly metaGraphs: readonly { readonly tags: readonly string[]; readonly tensorflowVersion: string | undefined; readonly nodes: number; readonly functions: number }[];
  readonly nodes: readonly GraphNode[];
  readonly assets: readonly string[];
  readonly userMetadata: readonly UserObjectMetadata[];
}

/** Node string attributes kept for the rules (file names, URLs): longer ones are cut. */
const MAX_ATTR_CHARS = 4096;
/** Nodes whose details are kept (op counts are kept for all): bounds the structure's memory. */
const MAX_KEPT_NODES = 1_000_000;

export async function readSavedModel(source: ByteSource): Promise<SavedModelInfo> {
  if (source.size > MAX_TF_SAVED_MODEL_BYTES) throw limitExceeded(`saved_model.pb is ${source.size} bytes, more than MAX_TF_SAVED_MODEL_BYTES (${MAX_TF_SAVED_MODEL_BYTES})`, 0);
  const w: PbWalk = { r: new PagedReader(source), budget: { fields: MAX_TF_PROTO_FIELDS, limitName: 'MAX_TF_PROTO_FIELDS' } };
  let schemaVersion = 0;
  const metaGraphs: { tags: string[]; tensorflowVersion: string | undefined; nodes: number; functions: number }[] = [];
  const nodes: GraphNode[] = [];
  const assets: string[] = [];
  const userMetadata: UserObjectMetadata[] = [];
  let metadataBytes = 0;
  const str = (f: PbField, what: string): Promise<string> => readPbString(w.r, f, MAX_TF_KEY_BYTES, what, 'MAX_TF_KEY_BYTES');
  await walkMessage(w.r, 0, source.size, 'SavedModel', w.budget, new Set([1, 2]), async (f) => {
    if (f.no === 1) {
      schemaVersion = f.value;
      return;
    }
    const m = metaGraphs.length;
    const meta = { tags: [] as string[], tensorflowVersion: undefined as string | undefined, nodes: 0, functions: 0 };
    metaGraphs.push(meta);
    await walkField(w, f, `meta graph ${m}`, new Set([1, 2, 6, 7]), async (g) => {
      if (g.no === 7) {
        let object = 0;
        await walkField(w, g, 'SavedObjectGraph', new Set([1]), async (o) => {
          const where = `meta graph ${m}, object ${object++}`;
          await walkField(w, o, 'SavedObject', new Set([4]), async (u) => {
            await walkField(w, u, 'SavedUserObject', new Set([3]), async (md) => {
              const bytes = md.end - md.start;
              metadataBytes += bytes;
              const json = metadataBytes > MAX_TF_KERAS_METADATA_BYTES ? undefined : await readPbString(w.r, md, bytes, 'a user object metadata', 'its length');
              userMetadata.push({ where, json, bytes });
            });
          });
        });
      } else if (g.no === 1) {
        await walkField(w, g, 'MetaInfoDef', new Set([4, 5]), async (i) => {
          if (i.no === 4) meta.tags.push(await str(i, 'a tag'));
          else meta.tensorflowVersion = await str(i, 'tensorflow_version');
        });
      } else if (g.no === 6) {
        await walkField(w, g, 'AssetFileDef', new Set([2]), async (a) => {
          assets.push(await str(a, 'an asset file name'));
        });
      } else {
        await walkField(w, g, 'GraphDef', new Set([1, 2]), async (gf) => {
          if (gf.no === 1) {
            meta.nodes++;
            await readNode(w, gf, 'graph', m, nodes);
          } else {
            await walkField(w, gf, 'FunctionDefLibrary', new Set([1]), async (fn) => {
              meta.functions++;
              let name = '';
              const inner: PbField[] = [];
              await walkField(w, fn, 'FunctionDef', new Set([1, 3]), async (ff) => {
                if (ff.no === 1) await walkField(w, ff, 'OpDef', new Set([1]), async (o) => void (name = await str(o, 'a function name')));
                else inner.push(ff);
              });
              for (const nf of inner) await readNode(w, nf, `function ${name}`, m, nodes);
            });
          }
        });
      }
    });
  });
  return { schemaVersion, metaGraphs, nodes, assets, userMetadata };
}

async function readNode(w: PbWalk, f: PbField, where: string, metaGraph: number, nodes: GraphNode[]): Promise<void> {
  let op = '';
  let name = '';
  const strings = new Map<string, string[]>();
  const calls: string[] = [];
  const func = (v: PbField): Promise<void> => walkField(w, v, 'NameAttrList', new Set([1]), async (a) => void calls.push(await readPbString(w.r, a, MAX_TF_KEY_BYTES, 'a function name', 'MAX_TF_KEY_BYTES')));
  await walkField(w, f, 'NodeDef', new Set([1, 2, 5]), async (n) => {
    if (n.no === 1) name = await readPbString(w.r, n, MAX_TF_KEY_BYTES, 'a node name', 'MAX_TF_KEY_BYTES');
    else if (n.no === 2) op = await readPbString(w.r, n, MAX_TF_KEY_BYTES, 'an op name', 'MAX_TF_KEY_BYTES');
    else {
      // attr: map<string, AttrValue> entries (key 1, value 2).
      let key = '';
      const values: string[] = [];
      await walkField(w, n, 'an attribute', new Set([1, 2]), async (e) => {
        if (e.no === 1) key = await readPbString(w.r, e, MAX_TF_KEY_BYTES, 'an attribute name', 'MAX_TF_KEY_BYTES');
        else {
          await walkField(w, e, 'AttrValue', new Set([1, 2, 10]), async (v) => {
            if (v.no === 2) values.push(await attrText(w, v));
            else if (v.no === 10) await func(v);
            else await walkField(w, v, 'AttrValue.list', new Set([2, 9]), async (s) => (s.no === 9 ? func(s) : void values.push(await attrText(w, s))));
          });
        }
      });
      if (values.length > 0) strings.set(key, values);
    }
  });
  calls.push(op);
  if (nodes.length < MAX_KEPT_NODES) nodes.push({ op, name, where, metaGraph, strings, calls });
}

/** An attribute's bytes as text (cut at MAX_ATTR_CHARS; not UTF-8 is shown with replacement characters). */
async function attrText(w: PbWalk, f: PbField): Promise<string> {
  if (f.wire !== WIRE_LEN) return '';
  const n = Math.min(f.end - f.start, MAX_ATTR_CHARS);
  return new TextDecoder().decode(await w.r.bytes(f.start, n, 'an attribute value'));
}

/** The layer metadata of tf.keras's keras_metadata.pb (SavedMetadata nodes 1 → SavedObject metadata 5), read as data. */
export async function readKerasMetadata(source: ByteSource): Promise<UserObjectMetadata[]> {
  if (source.size > MAX_TF_SAVED_MODEL_BYTES) throw limitExceeded(`keras_metadata.pb is ${source.size} bytes, more than MAX_TF_SAVED_MODEL_BYTES (${MAX_TF_SAVED_MODEL_BYTES})`, 0);
  const w: PbWalk = { r: new PagedReader(source), budget: { fields: MAX_TF_PROTO_FIELDS, limitName: 'MAX_TF_PROTO_FIELDS' } };
  const out: UserObjectMetadata[] = [];
  let total = 0;
  let node = 0;
  await walkMessage(w.r, 0, source.size, 'SavedMetadata', w.budget, new Set([1]), async (f) => {
    const where = `node ${node++}`;
    await walkField(w, f, 'SavedObject', new Set([5]), async (md) => {
      const bytes = md.end - md.start;
      total += bytes;
      out.push({ where, bytes, json: total > MAX_TF_KERAS_METADATA_BYTES ? undefined : await readPbString(w.r, md, bytes, 'a layer metadata', 'its length') });
    });
  });
  return out;
}
