import type { LeftOut } from '../../tensor/tensor-set.js';
import { claimName } from '../tensor-names.js';
import type { XmlElement } from '../xml/parser.js';
import { PmmlError } from './errors.js';
import { MAX_PMML_MODELS, MAX_PMML_SEGMENT_DEPTH, MAX_PMML_TENSOR_ELEMENTS } from './limits.js';
import { ARRAY_ELEMENTS, countAttribute, describe, invalid, numberAttribute, numericArray, type Where } from './numbers.js';

/**
 * The numbers of a PMML document's models as named tensors (README "### PMML" has the naming table):
 *
 * | model | tensors (prefix: the model's element name; MiningModel segments add `segment<id>/`) |
 * | NeuralNetwork | `layer<L>/weight` [neurons × inputs] (from each Neuron's Con from/weight; 0 where none), `layer<L>/bias` [neurons] |
 * | RegressionModel | `table<T>/intercept` [], `table<T>/coefficients` [NumericPredictors], `table<T>/exponents` (when one is not 1), `table<T>/categoricalCoefficients` |
 * | GeneralRegressionModel | `beta` [parameters] from ParamMatrix's PCells (`category<C>/beta` per targetCategory when there are several) |
 * | SupportVectorMachineModel | `vectors` [VectorInstances × VectorFields], `machine<M>/coefficients`, `machine<M>/absoluteValue` [], `machine<M>/supportVectors` (I64 rows of `vectors`) |
 * | ClusteringModel | `centers` [Clusters × fields] |
 *
 * Every value is a double (F64) read from the decimal text as Python's float() reads it. The labels of a
 * tensor's rows and columns (neuron ids, field names) are kept as `labels` for the metadata. Other
 * models (trees, rule sets, scorecards, naive Bayes, …) are listed as left out: they hold no tensors.
 */

export interface PmmlTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float64Array | BigInt64Array;
  /** What each row (first axis) and column (last axis) is, when the document names them. */
  readonly rows?: readonly string[];
  readonly columns?: readonly string[];
}

export interface PmmlModelSummary {
  /** Its tensors' prefix: `NeuralNetwork`, `MiningModel/segment3/RegressionModel`. */
  readonly path: string;
  readonly element: string;
  readonly functionName?: string;
  readonly modelName?: string;
  readonly tensors: number;
}

export interface PmmlModels {
  readonly tensors: PmmlTensor[];
  readonly leftOut: LeftOut[];
  readonly models: PmmlModelSummary[];
}

/** The model elements PMML 3.x and 4.x define: the ones read for tensors, and the others (listed as left out). */
const MODEL_ELEMENTS = new Set([
  'NeuralNetwork', 'RegressionModel', 'GeneralRegressionModel', 'SupportVectorMachineModel', 'ClusteringModel', 'MiningModel',
  'TreeModel', 'RuleSetModel', 'Scorecard', 'NaiveBayesModel', 'NearestNeighborModel', 'AssociationModel', 'SequenceModel',
  'TextModel', 'TimeSeriesModel', 'BaselineModel', 'BayesianNetworkModel', 'GaussianProcessModel', 'AnomalyDetectionModel',
]);

export function extractModels(root: XmlElement, where: Where): PmmlModels {
  if (root.local !== 'PMML') throw new PmmlError('InvalidPmml', `${where.file}: the root element is <${root.name}>, not <PMML>`, { location: where.file });
  const out: PmmlModels = { tensors: [], leftOut: [], models: [] };
  const walk = new Walk(where, out);
  walk.models(root, '', 0);
  return out;
}

class Walk {
  private count = 0;
  private readonly taken = new Set<string>();

  constructor(
    private readonly where: Where,
    private readonly out: PmmlModels,
  ) {}

  /** The model elements among `parent`'s children, each under `prefix` (repeated kinds: `#2`, `#3`). */
  models(parent: XmlElement, prefix: string, depth: number): void {
    const names = new Set<string>();
    for (const el of parent.children) {
      if (!MODEL_ELEMENTS.has(el.local)) continue;
      this.model(el, `${prefix}${claimName(names, el.local)}`, depth);
    }
  }

  private model(el: XmlElement, path: string, depth: number): void {
    if (++this.count > MAX_PMML_MODELS) throw new PmmlError('PmmlLimit', `${this.where.file}: more than MAX_PMML_MODELS (${MAX_PMML_MODELS}) models`, { location: this.where.file });
    const before = this.out.tensors.length;
    switch (el.local) {
      case 'NeuralNetwork': this.neuralNetwork(el, path); break;
      case 'RegressionModel': this.regression(el, path); break;
      case 'GeneralRegressionModel': this.generalRegression(el, path); break;
      case 'SupportVectorMachineModel': this.supportVectorMachine(el, path); break;
      case 'ClusteringModel': this.clustering(el, path); break;
      case 'MiningModel': this.mining(el, path, depth); break;
      default: this.out.leftOut.push({ path, what: `a ${el.local}: no tensors are read from it` });
    }
    const a = el.attributes;
    this.out.models.push({
      path, element: el.local,
      ...(a['functionName'] !== undefined ? { functionName: a['functionName'] } : {}),
      ...(a['modelName'] !== undefined ? { modelName: a['modelName'] } : {}),
      tensors: this.out.tensors.length - before,
    });
  }

  private add(t: PmmlTensor, el: XmlElement): void {
    if (this.taken.has(t.name)) invalid(this.where, el, `a second tensor named ${JSON.stringify(t.name)}`);
    this.taken.add(t.name);
    this.out.tensors.push(t);
  }

  private elements(count: number, el: XmlElement): void {
    if (count > MAX_PMML_TENSOR_ELEMENTS) throw new PmmlError('PmmlLimit', `${this.where.file}: ${describe(el)} (byte ${this.where.offset(el)}) makes a tensor of ${count} elements, more than MAX_PMML_TENSOR_ELEMENTS (${MAX_PMML_TENSOR_ELEMENTS})`, { location: `${this.where.file}@${this.where.offset(el)}` });
  }

  /** NeuralInputs, then each NeuralLayer: a weight matrix over the ids of the layer before (Con `from`), and a bias per Neuron. */
  private neuralNetwork(el: XmlElement, path: string): void {
    const inputs = child(el, 'NeuralInputs');
    if (inputs === undefined) invalid(this.where, el, 'no NeuralInputs');
    let previous = children(inputs, 'NeuralInput').map((i) => idOf(this.where, i));
    for (const [l, layer] of children(el, 'NeuralLayer').entries()) {
      const neurons = children(layer, 'Neuron');
      const column = new Map<string, number>();
      for (const [j, id] of previous.entries()) {
        if (column.has(id)) invalid(this.where, layer, `the layer before it has two neurons of id ${JSON.stringify(id)}`);
        column.set(id, j);
      }
      this.elements(neurons.length * previous.length, layer);
      const weight = new Float64Array(neurons.length * previous.length);
      const bias = new Float64Array(neurons.length);
      for (const [i, neuron] of neurons.entries()) {
        bias[i] = numberAttribute(this.where, neuron, 'bias', 0);
        const seen = new Set<number>();
        for (const con of children(neuron, 'Con')) {
          const from = con.attributes['from'];
          if (from === undefined) invalid(this.where, con, 'no from');
          const j = column.get(from.trim());
          if (j === undefined) invalid(this.where, con, `from=${JSON.stringify(from.slice(0, 80))} is not a neuron of the layer before (layer ${l}'s inputs): connections that skip layers are not a weight matrix`);
          if (seen.has(j)) invalid(this.where, con, `a second connection from ${JSON.stringify(from.slice(0, 80))}`);
          seen.add(j);
          weight[i * previous.length + j] = numberAttribute(this.where, con, 'weight');
        }
      }
      const ids = neurons.map((n) => idOf(this.where, n));
      this.add({ name: `${path}/layer${l}/weight`, shape: [neurons.length, previous.length], values: weight, rows: ids, columns: previous }, layer);
      this.add({ name: `${path}/layer${l}/bias`, shape: [neurons.length], values: bias, rows: ids }, layer);
      previous = ids;
    }
  }

  private regression(el: XmlElement, path: string): void {
    for (const [t, table] of children(el, 'RegressionTable').entries()) {
      const at = `${path}/table${t}`;
      this.add({ name: `${at}/intercept`, shape: [], values: Float64Array.of(numberAttribute(this.where, table, 'intercept')) }, table);
      const numeric = children(table, 'NumericPredictor');
      const names = numeric.map((p) => p.attributes['name'] ?? '');
      this.add({ name: `${at}/coefficients`, shape: [numeric.length], values: Float64Array.from(numeric, (p) => numberAttribute(this.where, p, 'coefficient')), columns: names }, table);
      const exponents = Float64Array.from(numeric, (p) => numberAttribute(this.where, p, 'exponent', 1));
      if (exponents.some((e) => e !== 1)) this.add({ name: `${at}/exponents`, shape: [numeric.length], values: exponents, columns: names }, table);
      const categorical = children(table, 'CategoricalPredictor');
      if (categorical.length > 0) {
        this.add({
          name: `${at}/categoricalCoefficients`, shape: [categorical.length],
          values: Float64Array.from(categorical, (p) => numberAttribute(this.where, p, 'coefficient')),
          columns: categorical.map((p) => `${p.attributes['name'] ?? ''}=${p.attributes['value'] ?? ''}`),
        }, table);
      }
      const terms = children(table, 'PredictorTerm').length;
      if (terms > 0) this.out.leftOut.push({ path: `${at}/PredictorTerm`, what: `${terms} interaction term${terms === 1 ? '' : 's'} (products of fields): not read` });
    }
  }

  /** ParamMatrix: each PCell's beta by its parameterName, one vector per targetCategory (none: one vector). */
  private generalRegression(el: XmlElement, path: string): void {
    const matrix = child(el, 'ParamMatrix');
    if (matrix === undefined) return void this.out.leftOut.push({ path, what: 'a GeneralRegressionModel with no ParamMatrix' });
    const byCategory = new Map<string, XmlElement[]>();
    for (const cell of children(matrix, 'PCell')) {
      const c = cell.attributes['targetCategory'] ?? '';
      let list = byCategory.get(c);
      if (list === undefined) byCategory.set(c, (list = []));
      list.push(cell);
    }
    const several = byCategory.size > 1;
    for (const [k, [category, cells]] of [...byCategory].entries()) {
      const name = several ? `${path}/category${k}/beta` : `${path}/beta`;
      const params = cells.map((c) => c.attributes['parameterName'] ?? '');
      if (new Set(params).size !== params.length) invalid(this.where, matrix, `a parameter has two PCells${category === '' ? '' : ` for targetCategory ${JSON.stringify(category.slice(0, 80))}`}`);
      this.add({ name, shape: [cells.length], values: Float64Array.from(cells, (c) => numberAttribute(this.where, c, 'beta')), columns: params, ...(several ? { rows: [category] } : {}) }, matrix);
    }
  }

  private supportVectorMachine(el: XmlElement, path: string): void {
    const dictionary = child(el, 'VectorDictionary');
    const rowOf = new Map<string, number>();
    if (dictionary !== undefined) {
      const fields = child(dictionary, 'VectorFields');
      const fieldNames = fields === undefined ? [] : fields.children.filter((f) => f.local === 'FieldRef' || f.local === 'CategoricalPredictor').map((f) => f.attributes['field'] ?? f.attributes['name'] ?? '');
      const declaredFields = fields === undefined ? undefined : countAttribute(this.where, fields, 'numberOfFields');
      if (declaredFields !== undefined && declaredFields !== fieldNames.length) invalid(this.where, fields!, `numberOfFields=${declaredFields} but it lists ${fieldNames.length}`);
      const instances = children(dictionary, 'VectorInstance');
      const declared = countAttribute(this.where, dictionary, 'numberOfVectors');
      if (declared !== undefined && declared !== instances.length) invalid(this.where, dictionary, `numberOfVectors=${declared} but it holds ${instances.length} VectorInstances`);
      const width = fieldNames.length;
      this.elements(instances.length * width, dictionary);
      const vectors = new Float64Array(instances.length * width);
      const ids: string[] = [];
      for (const [r, instance] of instances.entries()) {
        const id = idOf(this.where, instance);
        if (rowOf.has(id)) invalid(this.where, instance, 'a second VectorInstance of this id');
        rowOf.set(id, r);
        ids.push(id);
        const array = instance.children.find((c) => ARRAY_ELEMENTS.has(c.local));
        if (array === undefined) invalid(this.where, instance, 'no Array or REAL-SparseArray');
        const values = numericArray(this.where, array);
        if (values.length !== width) invalid(this.where, array, `${values.length} values for ${width} VectorFields`);
        vectors.set(values, r * width);
      }
      this.add({ name: `${path}/vectors`, shape: [instances.length, width], values: vectors, rows: ids, columns: fieldNames }, dictionary);
    }
    for (const [m, machine] of children(el, 'SupportVectorMachine').entries()) {
      const at = `${path}/machine${m}`;
      const coefficients = child(machine, 'Coefficients');
      if (coefficients === undefined) invalid(this.where, machine, 'no Coefficients');
      const list = children(coefficients, 'Coefficient');
      const declared = countAttribute(this.where, coefficients, 'numberOfCoefficients');
      if (declared !== undefined && declared !== list.length) invalid(this.where, coefficients, `numberOfCoefficients=${declared} but it holds ${list.length}`);
      this.add({ name: `${at}/coefficients`, shape: [list.length], values: Float64Array.from(list, (c) => numberAttribute(this.where, c, 'value', 0)) }, coefficients);
      this.add({ name: `${at}/absoluteValue`, shape: [], values: Float64Array.of(numberAttribute(this.where, coefficients, 'absoluteValue', 0)) }, coefficients);
      const supports = child(machine, 'SupportVectors');
      if (supports !== undefined) {
        const refs = children(supports, 'SupportVector');
        const rows = new BigInt64Array(refs.length);
        for (const [k, ref] of refs.entries()) {
          const id = ref.attributes['vectorId'];
          const row = id === undefined ? undefined : rowOf.get(id);
          if (row === undefined) invalid(this.where, ref, `vectorId=${JSON.stringify((id ?? '').slice(0, 80))} is no VectorInstance of the VectorDictionary`);
          rows[k] = BigInt(row);
        }
        if (refs.length !== list.length) invalid(this.where, machine, `${refs.length} SupportVectors but ${list.length} Coefficients`);
        this.add({ name: `${at}/supportVectors`, shape: [refs.length], values: rows, columns: refs.map((r) => r.attributes['vectorId']!) }, supports);
      }
    }
  }

  /** Each Cluster's centre (its Array) as a row; every row as long as the first. */
  private clustering(el: XmlElement, path: string): void {
    const clusters = children(el, 'Cluster');
    if (clusters.length > 0 && clusters.every((c) => !c.children.some((x) => ARRAY_ELEMENTS.has(x.local)))) {
      return void this.out.leftOut.push({ path, what: `${clusters.length} clusters with no centres (a distribution-based ClusteringModel)` });
    }
    const fields = children(el, 'ClusteringField').map((f) => f.attributes['field'] ?? '');
    const rows: Float64Array[] = [];
    for (const cluster of clusters) {
      const array = cluster.children.find((c) => ARRAY_ELEMENTS.has(c.local));
      if (array === undefined) invalid(this.where, cluster, 'no Array (its centre)');
      rows.push(numericArray(this.where, array));
    }
    const width = rows[0]?.length ?? fields.length;
    this.elements(rows.length * width, el);
    const centers = new Float64Array(rows.length * width);
    for (const [k, row] of rows.entries()) {
      if (row.length !== width) invalid(this.where, clusters[k]!, `a centre of ${row.length} values where the first has ${width}`);
      centers.set(row, k * width);
    }
    const names = clusters.map((c, k) => c.attributes['id'] ?? c.attributes['name'] ?? String(k));
    this.add({ name: `${path}/centers`, shape: [rows.length, width], values: centers, rows: names, ...(fields.length === width ? { columns: fields } : {}) }, el);
  }

  /** Segmentation's Segments, each model under `segment<id>/` (1-based position when the Segment has no id). */
  private mining(el: XmlElement, path: string, depth: number): void {
    if (depth >= MAX_PMML_SEGMENT_DEPTH) throw new PmmlError('PmmlLimit', `${this.where.file}: MiningModels nested more than MAX_PMML_SEGMENT_DEPTH (${MAX_PMML_SEGMENT_DEPTH}) deep`, { location: `${this.where.file}@${this.where.offset(el)}` });
    const segmentation = child(el, 'Segmentation');
    if (segmentation !== undefined) {
      const ids = new Set<string>();
      for (const [k, segment] of children(segmentation, 'Segment').entries()) {
        const id = segment.attributes['id'] ?? String(k + 1);
        if (ids.has(id)) invalid(this.where, segment, 'a second Segment of this id');
        ids.add(id);
        this.models(segment, `${path}/segment${id}/`, depth + 1);
      }
    }
    // PMML 3.x MiningModels may hold their models directly.
    this.models(el, `${path}/`, depth + 1);
  }
}

function child(el: XmlElement, local: string): XmlElement | undefined {
  return el.children.find((c) => c.local === local);
}

function children(el: XmlElement, local: string): XmlElement[] {
  return el.children.filter((c) => c.local === local);
}

function idOf(where: Where, el: XmlElement): string {
  const id = el.attributes['id'];
  if (id === undefined) invalid(where, el, 'no id');
  return id.trim();
}
