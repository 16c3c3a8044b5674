import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { eachVarint, expectWire, readPbString, walkField, walkMessage, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, type PbField, type PbWalk } from '../protobuf/wire.js';
import { MAX_COREML_DIMS, MAX_COREML_FIELDS, MAX_COREML_NESTING, MAX_COREML_QUANTIZATION_PARAMS, MAX_COREML_STRING_BYTES, MAX_COREML_WEIGHTS } from './limits.js';
import { NN_SCHEMA } from './nn-schema.js';

/**
 * A Core ML `Model` message (apple/coremltools mlmodel/format/Model.proto), read with the protobuf
 * wire walker: what holds weights, and what makes Core ML load code or other files. Weight bytes are
 * located, never read here.
 *  - neural networks (NeuralNetwork 500, NeuralNetworkClassifier 403, NeuralNetworkRegressor 303):
 *    every WeightParams reachable from a layer (nn-schema.ts, generated from NeuralNetwork.proto), with
 *    the layer's name and the path of field names to it;
 *  - ML programs (mlProgram 502, MIL.proto): every operation of every function and block, with its
 *    type, outputs, attributes and inputs (values: immediate, or a blob in a weight file);
 *  - pipelines (200, 201, 202): their models, in order, each read the same way (`<index>.` prefixed);
 *  - custom layers and models, linked models, serialized models: for the scan.
 */

export interface Range {
  readonly start: number;
  readonly end: number;
}

export interface NnQuantization {
  readonly bits: number;
  readonly scale?: readonly number[];
  readonly bias?: readonly number[];
  readonly lut?: readonly number[];
}

/** One WeightParams of a neural network layer. */
export interface NnWeight {
  /** `<pipeline prefix><layer name>.<field path>`. */
  readonly name: string;
  readonly layer: string;
  /** Offset of the WeightParams message. */
  readonly at: number;
  /** floatValue: its runs (packed fields, or single fixed32 values). */
  readonly floats: readonly Range[];
  readonly f16?: Range;
  readonly raw?: Range;
  readonly int8?: Range;
  readonly quantization?: NnQuantization;
  /** From the layer's parameters, for the layers whose weights' shapes Core ML defines (convolution, innerProduct, …). */
  shape?: readonly number[];
  /** The axis of per-channel linear quantization: 1 for a deconvolution's weights, 0 otherwise. */
  axis: number;
}

/** MIL DataType (MIL.proto). */
export type MilDtype = number;

export interface MilType {
  readonly dtype: MilDtype;
  /** Undefined when a dimension is not a constant (or the type is not a tensor). */
  readonly shape: readonly number[] | undefined;
}

export interface MilValue {
  readonly at: number;
  readonly type?: MilType;
  /** TensorValue: which of its fields (1 floats … 7 bytes) and that field's payload. */
  readonly immediate?: { readonly field: number; readonly start: number; readonly end: number };
  /** A value of another kind than a tensor (tuple, list, dictionary). */
  readonly other?: string;
  readonly blob?: { readonly fileName: string; readonly offset: number };
}

export type MilBinding = { readonly name: string } | { readonly value: MilValue };

export interface MilOp {
  readonly type: string;
  readonly at: number;
  readonly fn: string;
  readonly outputs: readonly { readonly name: string; readonly type?: MilType }[];
  readonly attributes: ReadonlyMap<string, MilValue>;
  readonly inputs: ReadonlyMap<string, readonly MilBinding[]>;
}

export interface CoremlModel {
  readonly specificationVersion: number;
  /** Model types met (`neuralNetwork`, `mlProgram`, `pipeline`, …), each with its pipeline prefix. */
  readonly types: { readonly type: string; readonly prefix: string }[];
  readonly nn: NnWeight[];
  readonly ops: MilOp[];
  readonly functions: string[];
  readonly customLayers: { readonly layer: string; readonly className: string; readonly at: number }[];
  readonly customModels: { readonly className: string; readonly at: number }[];
  readonly linkedModels: { readonly fileName: string; readonly searchPath: string; readonly at: number }[];
  readonly serialized: { readonly identifier: string; readonly at: number }[];
  readonly description: { inputs: number; outputs: number; metadata: Map<string, string> };
}

const MODEL_TYPES: Readonly<Record<number, string>> = {
  200: 'pipelineClassifier', 201: 'pipelineRegressor', 202: 'pipeline',
  300: 'glmRegressor', 301: 'supportVectorRegressor', 302: 'treeEnsembleRegressor', 303: 'neuralNetworkRegressor', 304: 'bayesianProbitRegressor',
  400: 'glmClassifier', 401: 'supportVectorClassifier', 402: 'treeEnsembleClassifier', 403: 'neuralNetworkClassifier', 404: 'kNearestNeighborsClassifier',
  500: 'neuralNetwork', 501: 'itemSimilarityRecommender', 502: 'mlProgram', 555: 'customModel', 556: 'linkedModel', 560: 'classConfidenceThresholding',
  600: 'oneHotEncoder', 601: 'imputer', 602: 'featureVectorizer', 603: 'dictVectorizer', 604: 'scaler', 606: 'categoricalMapping', 607: 'normalizer',
  609: 'arrayFeatureExtractor', 610: 'nonMaximumSuppression', 900: 'identity',
  2000: 'textClassifier', 2001: 'wordTagger', 2002: 'visionFeaturePrint', 2003: 'soundAnalysisPreprocessing', 2004: 'gazetteer', 2005: 'wordEmbedding', 2006: 'audioFeaturePrint',
  3000: 'serializedModel',
};
const NN_TYPES: Readonly<Record<number, string>> = { 303: 'NeuralNetworkRegressor', 403: 'NeuralNetworkClassifier', 500: 'NeuralNetwork' };
const MODEL_FIELDS = new Set([1, 2, ...Object.keys(MODEL_TYPES).map(Number)]);

/** NeuralNetworkLayer fields: its name, and the custom layer (CustomLayerParams). */
const LAYER_NAME = 1;
const LAYER_CUSTOM = 500;

interface Walk extends PbWalk {
  readonly model: CoremlModel;
}

/** Parses the Model message that is the whole of [start, end) of `r`. */
export async function parseCoremlModel(r: PagedReader, start = 0, end = r.size): Promise<CoremlModel> {
  const model: CoremlModel = {
    specificationVersion: 0,
    types: [],
    nn: [],
    ops: [],
    functions: [],
    customLayers: [],
    customModels: [],
    linkedModels: [],
    serialized: [],
    description: { inputs: 0, outputs: 0, metadata: new Map() },
  };
  const w: Walk = { r, budget: { fields: MAX_COREML_FIELDS, limitName: 'MAX_COREML_FIELDS' }, model };
  let version = 0;
  await walkModel(w, start, end, '', 0, (v) => (version = v));
  if (version === 0 && model.types.length === 0) throw malformed('no specificationVersion and no model: not a Core ML Model message', start);
  return { ...model, specificationVersion: version };
}

async function walkModel(w: Walk, start: number, end: number, prefix: string, depth: number, version?: (v: number) => void): Promise<void> {
  if (depth > MAX_COREML_NESTING) throw limitExceeded(`models nest deeper than MAX_COREML_NESTING (${MAX_COREML_NESTING})`, start);
  await walkMessage(w.r, start, end, 'Model', w.budget, MODEL_FIELDS, async (f) => {
    if (f.no === 1) {
      expectWire(f, WIRE_VARINT, 'Model.specificationVersion');
      version?.(f.value);
      return;
    }
    if (f.no === 2) {
      if (depth === 0) await walkDescription(w, f);
      return;
    }
    const type = MODEL_TYPES[f.no]!;
    w.model.types.push({ type, prefix });
    const nn = NN_TYPES[f.no];
    if (nn !== undefined) return walkNn(w, f, nn, { prefix, layer: '', path: [] }, depth + 1);
    switch (f.no) {
      case 200:
      case 201:
        return walkField(w, f, type, new Set([1]), (p) => walkPipeline(w, p, prefix, depth + 1));
      case 202:
        return walkPipeline(w, f, prefix, depth + 1);
      case 502:
        return walkProgram(w, f, depth + 1);
      case 555:
        return walkField(w, f, 'CustomModel', new Set([10]), async (c) => {
          w.model.customModels.push({ className: await str(w, c, 'CustomModel.className'), at: c.at });
        });
      case 556:
        return walkLinked(w, f);
      case 3000: {
        let identifier = '';
        await walkField(w, f, 'SerializedModel', new Set([1]), async (s) => void (identifier = await str(w, s, 'SerializedModel.identifier')));
        w.model.serialized.push({ identifier, at: f.at });
        return;
      }
    }
  });
}

async function walkDescription(w: Walk, f: PbField): Promise<void> {
  const d = w.model.description;
  await walkField(w, f, 'ModelDescription', new Set([1, 10, 100]), async (g) => {
    if (g.no === 1) d.inputs++;
    else if (g.no === 10) d.outputs++;
    else {
      // Metadata: shortDescription 1, versionString 2, author 3, license 4, userDefined 100 (map).
      await walkField(w, g, 'Metadata', new Set([1, 2, 3, 4, 100]), async (m) => {
        if (m.no !== 100) {
          d.metadata.set(['', 'shortDescription', 'versionString', 'author', 'license'][m.no]!, await str(w, m, 'Metadata'));
          return;
        }
        let key = '';
        let value = '';
        await walkField(w, m, 'Metadata.userDefined', new Set([1, 2]), async (e) => {
          if (e.no === 1) key = await str(w, e, 'Metadata.userDefined key');
          else value = await str(w, e, 'Metadata.userDefined value');
        });
        d.metadata.set(key, value);
      });
    }
  });
}

async function walkPipeline(w: Walk, f: PbField, prefix: string, depth: number): Promise<void> {
  let i = 0;
  await walkField(w, f, 'Pipeline', new Set([1]), (m) => {
    expectWire(m, WIRE_LEN, 'Pipeline.models');
    return walkModel(w, m.start, m.end, `${prefix}${i++}.`, depth + 1);
  });
}

async function walkLinked(w: Walk, f: PbField): Promise<void> {
  await walkField(w, f, 'LinkedModel', new Set([1]), async (file) => {
    let fileName = '';
    let searchPath = '';
    await walkField(w, file, 'LinkedModelFile', new Set([1, 2]), async (p) => {
      let value = '';
      await walkField(w, p, 'StringParameter', new Set([1]), async (s) => void (value = await str(w, s, 'StringParameter.defaultValue')));
      if (p.no === 1) fileName = value;
      else searchPath = value;
    });
    w.model.linkedModels.push({ fileName, searchPath, at: file.at });
  });
}

// ---------------------------------------------------------------- neural networks

interface NnPlace {
  readonly prefix: string;
  readonly layer: string;
  readonly path: readonly string[];
}

/** Layer parameters whose weights' shapes Core ML defines: the numeric fields read for them. */
const SHAPE_FIELDS: Readonly<Record<string, ReadonlySet<number>>> = {
  ConvolutionLayerParams: new Set([1, 2, 10, 20, 60]),
  InnerProductLayerParams: new Set([1, 2]),
  EmbeddingLayerParams: new Set([1, 2]),
  EmbeddingNDLayerParams: new Set([1, 2]),
  BatchedMatMulLayerParams: new Set([5, 6]),
  BatchnormLayerParams: new Set([1]),
};

async function walkNn(w: Walk, f: PbField, type: string, place: NnPlace, depth: number): Promise<void> {
  if (depth > MAX_COREML_NESTING) throw limitExceeded(`neural network messages nest deeper than MAX_COREML_NESTING (${MAX_COREML_NESTING})`, f.at);
  expectWire(f, WIRE_LEN, type);
  if (type === 'WeightParams') return void pushWeight(w, await weightParams(w, f, place));
  const schema = NN_SCHEMA[type];
  if (schema === undefined) return;
  if (type === 'NeuralNetworkLayer') return walkLayer(w, f, place, depth);
  const shapeFields = SHAPE_FIELDS[type];
  const interesting = new Set(Object.keys(schema).map(Number));
  for (const n of shapeFields ?? []) interesting.add(n);
  const dims = new Map<number, number[]>();
  const weights: NnWeight[] = [];
  const counts = new Map<number, number>();
  await walkMessage(w.r, f.start, f.end, type, w.budget, interesting, async (g) => {
    const field = schema[g.no];
    if (field !== undefined && (g.wire === WIRE_LEN || !shapeFields?.has(g.no))) {
      const [name, child, repeated] = field;
      const k = counts.get(g.no) ?? 0;
      counts.set(g.no, k + 1);
      const path = [...place.path, repeated ? `${name}.${k}` : name];
      if (child === 'WeightParams') {
        weights.push(await weightParams(w, g, { ...place, path }));
        return;
      }
      await walkNn(w, g, child, { ...place, path }, depth + 1);
      return;
    }
    if (shapeFields?.has(g.no)) {
      const values: number[] = [];
      if (g.wire === WIRE_VARINT) values.push(g.value);
      else if (g.wire === WIRE_LEN) eachVarint(await w.r.bytes(g.start, g.end - g.start, `${type} field ${g.no}`), g.start, (lo, hi) => values.push(hi === 0 ? lo : Infinity));
      dims.set(g.no, [...(dims.get(g.no) ?? []), ...values]);
    }
  });
  for (const weight of weights) {
    if (shapeFields !== undefined) shapeOf(type, weight, dims);
    pushWeight(w, weight);
  }
}

async function walkLayer(w: Walk, f: PbField, place: NnPlace, depth: number): Promise<void> {
  const schema = NN_SCHEMA['NeuralNetworkLayer']!;
  let name = '';
  const params: PbField[] = [];
  let custom: PbField | undefined;
  await walkMessage(w.r, f.start, f.end, 'NeuralNetworkLayer', w.budget, new Set([LAYER_NAME, ...Object.keys(schema).map(Number)]), async (g) => {
    if (g.no === LAYER_NAME) name = await str(w, g, 'NeuralNetworkLayer.name');
    else {
      params.push(g);
      if (g.no === LAYER_CUSTOM) custom = g;
    }
  });
  const layer = name === '' ? `#${f.at}` : name;
  if (custom !== undefined) {
    let className = '';
    await walkField(w, custom, 'CustomLayerParams', new Set([10]), async (c) => void (className = await str(w, c, 'CustomLayerParams.className')));
    w.model.customLayers.push({ layer, className, at: custom.at });
  }
  for (const g of params) {
    const [, child] = schema[g.no]!;
    await walkNn(w, g, child, { prefix: place.prefix, layer, path: [] }, depth + 1);
  }
}

function pushWeight(w: Walk, weight: NnWeight): void {
  if (w.model.nn.length + w.model.ops.length >= MAX_COREML_WEIGHTS) throw limitExceeded(`more than MAX_COREML_WEIGHTS (${MAX_COREML_WEIGHTS}) weights`, weight.at);
  w.model.nn.push(weight);
}

/** The shapes coremltools' quantization utilities give these layers' weights (quantization_utils.py). */
function shapeOf(type: string, weight: NnWeight, dims: Map<number, number[]>): void {
  const d = (n: number): number => dims.get(n)?.[0] ?? 0;
  const field = weight.name.slice(weight.name.lastIndexOf('.') + 1);
  let shape: number[] | undefined;
  switch (type) {
    case 'ConvolutionLayerParams': {
      const [kh, kw] = dims.get(20) ?? [];
      const groups = d(10) === 0 ? 1 : d(10);
      if (field === 'bias') shape = [d(1)];
      else if (kh !== undefined && kw !== undefined) {
        const deconv = d(60) !== 0;
        shape = deconv ? [d(2), d(1) / groups, kh, kw] : [d(1), d(2), kh, kw];
        if (deconv) weight.axis = 1;
      }
      break;
    }
    case 'InnerProductLayerParams':
    case 'EmbeddingLayerParams':
    case 'EmbeddingNDLayerParams':
      shape = field === 'bias' ? [d(2)] : [d(2), d(1)];
      break;
    case 'BatchedMatMulLayerParams':
      shape = field === 'bias' ? [d(6)] : [d(6), d(5)];
      break;
    case 'BatchnormLayerParams':
      shape = [d(1)];
      break;
  }
  if (shape !== undefined && shape.every((n) => Number.isSafeInteger(n) && n >= 0)) weight.shape = shape;
}

async function weightParams(w: Walk, f: PbField, place: NnPlace): Promise<NnWeight> {
  const name = `${place.prefix}${[place.layer, ...place.path].join('.')}`;
  const what = `WeightParams ${JSON.stringify(name)}`;
  const floats: Range[] = [];
  let f16: Range | undefined;
  let raw: Range | undefined;
  let int8: Range | undefined;
  let quantization: NnQuantization | undefined;
  await walkField(w, f, what, new Set([1, 2, 30, 31, 40]), async (g) => {
    switch (g.no) {
      case 1:
        if (g.wire !== WIRE_FIXED32) expectWire(g, WIRE_LEN, `${what}.floatValue`);
        if ((g.end - g.start) % 4 !== 0) throw malformed(`${what}.floatValue holds ${g.end - g.start} bytes, not a whole number of floats`, g.at);
        floats.push({ start: g.start, end: g.end });
        return;
      case 2:
      case 30:
      case 31: {
        expectWire(g, WIRE_LEN, what);
        // A bytes field given twice: protobuf keeps the last.
        const range = { start: g.start, end: g.end };
        if (g.no === 2) f16 = range;
        else if (g.no === 30) raw = range;
        else int8 = range;
        return;
      }
      case 40:
        quantization = await quantizationParams(w, g, what);
    }
  });
  return { name, layer: place.layer, at: f.at, floats, ...(f16 ? { f16 } : {}), ...(raw ? { raw } : {}), ...(int8 ? { int8 } : {}), ...(quantization ? { quantization } : {}), axis: 0 };
}

async function quantizationParams(w: Walk, f: PbField, what: string): Promise<NnQuantization> {
  let bits = 0;
  let scale: number[] | undefined;
  let bias: number[] | undefined;
  let lut: number[] | undefined;
  let kind = 0;
  await walkField(w, f, `${what}.quantization`, new Set([1, 101, 102]), async (g) => {
    if (g.no === 1) {
      expectWire(g, WIRE_VARINT, `${what}.quantization.numberOfBits`);
      bits = g.value;
      return;
    }
    // A oneof: the last one given is the one.
    kind = g.no;
    scale = undefined;
    bias = undefined;
    lut = undefined;
    await walkField(w, g, `${what}.quantization`, new Set(g.no === 101 ? [1, 2] : [1]), async (h) => {
      const values = await floatsOf(w, h, `${what}.quantization`);
      if (g.no === 102) lut = [...(lut ?? []), ...values];
      else if (h.no === 1) scale = [...(scale ?? []), ...values];
      else bias = [...(bias ?? []), ...values];
      if ((lut?.length ?? 0) + (scale?.length ?? 0) + (bias?.length ?? 0) > MAX_COREML_QUANTIZATION_PARAMS) {
        throw limitExceeded(`${what} has more quantization parameters than MAX_COREML_QUANTIZATION_PARAMS (${MAX_COREML_QUANTIZATION_PARAMS})`, h.at);
      }
    });
  });
  if (kind === 101) return { bits, scale: scale ?? [], bias: bias ?? [] };
  if (kind === 102) return { bits, lut: lut ?? [] };
  return { bits };
}

/** A repeated float field's values (packed, or one fixed32). */
async function floatsOf(w: Walk, f: PbField, what: string): Promise<number[]> {
  if (f.wire !== WIRE_FIXED32) expectWire(f, WIRE_LEN, what);
  const n = f.end - f.start;
  if (n % 4 !== 0) throw malformed(`${what} holds ${n} bytes, not a whole number of floats`, f.at);
  const b = await w.r.bytes(f.start, n, what);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i < n; i += 4) out.push(view.getFloat32(i, true));
  return out;
}

async function str(w: Walk, f: PbField, what: string): Promise<string> {
  return readPbString(w.r, f, MAX_COREML_STRING_BYTES, what, 'MAX_COREML_STRING_BYTES');
}

// ---------------------------------------------------------------- ML programs (MIL.proto)

async function walkProgram(w: Walk, f: PbField, depth: number): Promise<void> {
  await walkField(w, f, 'Program', new Set([2]), async (entry) => {
    // map<string, Function>: entries of key 1, value 2.
    let name = '';
    let fn: PbField | undefined;
    await walkField(w, entry, 'Program.functions', new Set([1, 2]), async (g) => {
      if (g.no === 1) name = await str(w, g, 'Program.functions key');
      else fn = g;
    });
    w.model.functions.push(name);
    if (fn === undefined) return;
    await walkField(w, fn, `function ${name}`, new Set([3]), async (spec) => {
      await walkField(w, spec, `function ${name} block_specializations`, new Set([2]), (block) => walkBlock(w, block, name, depth + 1));
    });
  });
}

async function walkBlock(w: Walk, f: PbField, fn: string, depth: number): Promise<void> {
  if (depth > MAX_COREML_NESTING) throw limitExceeded(`MIL blocks nest deeper than MAX_COREML_NESTING (${MAX_COREML_NESTING})`, f.at);
  await walkField(w, f, `a block of function ${fn}`, new Set([3]), (op) => walkOperation(w, op, fn, depth));
}

async function walkOperation(w: Walk, f: PbField, fn: string, depth: number): Promise<void> {
  let type = '';
  const outputs: { name: string; type?: MilType }[] = [];
  const attributes = new Map<string, MilValue>();
  const inputs = new Map<string, MilBinding[]>();
  const blocks: PbField[] = [];
  await walkField(w, f, 'Operation', new Set([1, 2, 3, 4, 5]), async (g) => {
    switch (g.no) {
      case 1:
        type = await str(w, g, 'Operation.type');
        return;
      case 2: {
        let key = '';
        const bindings: MilBinding[] = [];
        await walkField(w, g, 'Operation.inputs', new Set([1, 2]), async (e) => {
          if (e.no === 1) key = await str(w, e, 'Operation.inputs key');
          else {
            await walkField(w, e, 'Argument', new Set([1]), async (b) => {
              await walkField(w, b, 'Argument.Binding', new Set([1, 2]), async (x) => {
                bindings.push(x.no === 1 ? { name: await str(w, x, 'Argument.Binding.name') } : { value: await milValue(w, x) });
              });
            });
          }
        });
        inputs.set(key, bindings);
        return;
      }
      case 3: {
        let name = '';
        let t: MilType | undefined;
        await walkField(w, g, 'NamedValueType', new Set([1, 2]), async (e) => {
          if (e.no === 1) name = await str(w, e, 'NamedValueType.name');
          else t = await valueType(w, e);
        });
        outputs.push({ name, ...(t ? { type: t } : {}) });
        return;
      }
      case 4:
        blocks.push(g);
        return;
      case 5: {
        let key = '';
        let value: MilValue | undefined;
        await walkField(w, g, 'Operation.attributes', new Set([1, 2]), async (e) => {
          if (e.no === 1) key = await str(w, e, 'Operation.attributes key');
          else value = await milValue(w, e);
        });
        if (value !== undefined) attributes.set(key, value);
      }
    }
  });
  if (w.model.nn.length + w.model.ops.length >= MAX_COREML_WEIGHTS) throw limitExceeded(`more than MAX_COREML_WEIGHTS (${MAX_COREML_WEIGHTS}) operations`, f.at);
  w.model.ops.push({ type, at: f.at, fn, outputs, attributes, inputs });
  for (const b of blocks) await walkBlock(w, b, fn, depth + 1);
}

async function milValue(w: Walk, f: PbField): Promise<MilValue> {
  let type: MilType | undefined;
  let immediate: MilValue['immediate'];
  let other: string | undefined;
  let blob: MilValue['blob'];
  await walkField(w, f, 'Value', new Set([2, 3, 5]), async (g) => {
    if (g.no === 2) type = await valueType(w, g);
    else if (g.no === 3) {
      immediate = undefined;
      other = undefined;
      blob = undefined;
      await walkField(w, g, 'Value.ImmediateValue', new Set([1, 2, 3, 4]), async (i) => {
        if (i.no !== 1) {
          other = ['', '', 'a tuple', 'a list', 'a dictionary'][i.no]!;
          return;
        }
        await walkField(w, i, 'TensorValue', new Set([1, 2, 3, 4, 5, 6, 7]), async (t) => {
          expectWire(t, WIRE_LEN, 'TensorValue');
          let start = t.start;
          let end = t.start;
          // Repeated*: values are field 1 (packed); RepeatedBytes: one bytes field 1.
          await walkField(w, t, 'TensorValue values', new Set([1]), (v) => {
            if (t.no === 4) return; // strings: not numbers
            if (v.wire !== WIRE_LEN) throw malformed(`TensorValue field ${t.no} holds unpacked values (wire type ${v.wire}), which coremltools never writes`, v.at);
            start = v.start;
            end = v.end;
          });
          immediate = { field: t.no, start, end };
        });
      });
    } else {
      immediate = undefined;
      other = undefined;
      let fileName = '';
      let offset = 0;
      await walkField(w, g, 'Value.BlobFileValue', new Set([1, 2]), async (b) => {
        if (b.no === 1) fileName = await str(w, b, 'BlobFileValue.fileName');
        else {
          expectWire(b, WIRE_VARINT, 'BlobFileValue.offset');
          offset = b.value;
        }
      });
      blob = { fileName, offset };
    }
  });
  return { at: f.at, ...(type ? { type } : {}), ...(immediate ? { immediate } : {}), ...(other ? { other } : {}), ...(blob ? { blob } : {}) };
}

async function valueType(w: Walk, f: PbField): Promise<MilType | undefined> {
  let result: MilType | undefined;
  await walkField(w, f, 'ValueType', new Set([1]), async (t) => {
    let dtype = 0;
    let known = true;
    const shape: number[] = [];
    await walkField(w, t, 'TensorType', new Set([1, 3]), async (g) => {
      if (g.no === 1) {
        expectWire(g, WIRE_VARINT, 'TensorType.dataType');
        dtype = g.value;
        return;
      }
      if (shape.length >= MAX_COREML_DIMS) throw limitExceeded(`a tensor type has more than MAX_COREML_DIMS (${MAX_COREML_DIMS}) dimensions`, g.at);
      let size: number | undefined;
      await walkField(w, g, 'Dimension', new Set([1, 2]), async (d) => {
        if (d.no === 2) {
          size = undefined;
          return;
        }
        size = 0;
        await walkField(w, d, 'Dimension.ConstantDimension', new Set([1]), (c) => {
          expectWire(c, WIRE_VARINT, 'ConstantDimension.size');
          size = c.value;
        });
      });
      if (size === undefined) known = false;
      else shape.push(size);
    });
    result = { dtype, shape: known ? shape : undefined };
  });
  return result;
}
