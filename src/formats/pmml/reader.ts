import type { ByteSource } from '../../io/byte-source.js';
import { float64Tensor, int64Tensor } from '../../tensor/memory-tensor.js';
import type { FormatReader, ParsedModel } from '../format.js';
import { parseXml, XmlError, type XmlDocument } from '../xml/parser.js';
import { MAX_XML_BYTES } from '../xml/limits.js';
import { PmmlError } from './errors.js';
import { MAX_PMML_LABEL_BYTES } from './limits.js';
import { extractModels, type PmmlModelSummary, type PmmlTensor } from './models.js';
import { scanPmml } from './scan-rules.js';
import { describePmml } from './view.js';

/**
 * PMML documents (dmg.org, versions 3.x and 4.x) as TensorSets: the XML read by the strict parser of
 * src/formats/xml (no DOCTYPE, no entities, bounded), the models' numbers read into float64 tensors
 * (models.ts has the naming table). Elements are matched by local name, whatever their namespace. The
 * labels of a tensor's rows and columns (neuron ids, field names, vector ids) are kept in the metadata as
 * `pmml.rows.<tensor>` and `pmml.columns.<tensor>` (JSON arrays of strings), up to MAX_PMML_LABEL_BYTES.
 * Nothing in the document is run: transformations, functions and the models' logic are data.
 */

export interface PmmlStructure {
  readonly document: XmlDocument;
  /** The root's `version` attribute. */
  readonly version?: string;
  readonly models: readonly PmmlModelSummary[];
}

/** Metadata keys of the labels of a tensor's rows and columns. */
export const PMML_ROWS_KEY_PREFIX = 'pmml.rows.';
export const PMML_COLUMNS_KEY_PREFIX = 'pmml.columns.';

/** Reads and parses a PMML source's XML (bounded by MAX_XML_BYTES before it is read). */
export async function readPmmlDocument(source: ByteSource): Promise<XmlDocument> {
  const file = source.name;
  if (source.size > MAX_XML_BYTES) throw new XmlError('XmlLimit', `${file}: the document is ${source.size} bytes, more than MAX_XML_BYTES (${MAX_XML_BYTES})`, { location: file });
  return parseXml(await source.read(0, source.size), file);
}

export const pmmlReader: FormatReader<PmmlStructure> = {
  async open(source: ByteSource): Promise<ParsedModel<PmmlStructure>> {
    const file = source.name;
    const document = await readPmmlDocument(source);
    const models = extractModels(document.root, { file, offset: (el) => document.byteOffset(el.at) });
    if (models.tensors.length === 0) {
      const kinds = models.models.map((m) => m.element);
      throw new PmmlError('NoTensors', `${file}: ${kinds.length === 0 ? 'the document has no model' : `its models (${[...new Set(kinds)].join(', ')}) hold no weights, coefficients, vectors or centres`}: nothing to convert`, { location: file });
    }
    const { metadata, dropped } = labels(models.tensors);
    const notes = [`every value read from its decimal text as a float64 (as Python's float() reads it)`];
    if (dropped > 0) notes.push(`labels of ${dropped} tensor${dropped === 1 ? '' : 's'} not kept: past MAX_PMML_LABEL_BYTES (${MAX_PMML_LABEL_BYTES}) of labels`);
    const version = document.root.attributes['version'];
    return {
      tensors: {
        format: 'pmml',
        tensors: models.tensors.map((t) => (t.values instanceof BigInt64Array ? int64Tensor(t.name, t.shape, t.values) : float64Tensor(t.name, t.shape, t.values))),
        leftOut: models.leftOut,
        notes,
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        close: async () => {
          await source.close?.();
        },
      },
      structure: { document, ...(version !== undefined ? { version } : {}), models: models.models },
    };
  },

  async scan(source, ctx, parsed) {
    await scanPmml(source, ctx, parsed?.structure.document);
  },

  describe: (parsed) => describePmml(parsed.structure),
};

/** The labels of the tensors' rows and columns as metadata, up to MAX_PMML_LABEL_BYTES in all. */
function labels(tensors: readonly PmmlTensor[]): { metadata: Record<string, string>; dropped: number } {
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  let bytes = 0;
  let dropped = 0;
  for (const t of tensors) {
    const entries: [string, readonly string[] | undefined][] = [[PMML_ROWS_KEY_PREFIX, t.rows], [PMML_COLUMNS_KEY_PREFIX, t.columns]];
    const kept = entries.filter(([, v]) => v !== undefined && v.length > 0).map(([k, v]) => [`${k}${t.name}`, JSON.stringify(v)] as const);
    const size = kept.reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (kept.length === 0) continue;
    if (bytes + size > MAX_PMML_LABEL_BYTES) {
      dropped++;
      continue;
    }
    bytes += size;
    for (const [k, v] of kept) metadata[k] = v;
  }
  return { metadata, dropped };
}
