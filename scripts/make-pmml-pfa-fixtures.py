#!/usr/bin/python3
"""PMML and PFA fixtures for test/formats.test.ts (test/fixtures/formats/pmml, test/fixtures/formats/pfa).

The documents are written here by hand, following the structure of JPMML's test resources
(jpmml-evaluator: VectorInstanceTest.pmml, KMeansIris.pmml, ...; dmg.org's examples) and Hadrian's PFA
test files (k-means clusters, linear models as cells and pools). No third-party file is copied.

The expected tensors come from Python's own reading, independent of tensorsafe's: PMML parsed by
xml.etree.ElementTree (expat), PFA by json / yaml.safe_load, every number read by float() and written
as a little-endian float64 (struct '<d'); the naming table of README "### PMML" / "### PFA" applied
here again. Run: /usr/bin/python3 scripts/make-pmml-pfa-fixtures.py
"""
import hashlib, json, os, struct, sys
import xml.etree.ElementTree as ET
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'formats')
PRODUCER = f'Python {sys.version.split()[0]} xml.etree (expat) / json / PyYAML {yaml.__version__}, float()'


def f64(name, shape, values):
    raw = b''.join(struct.pack('<d', float(v)) for v in values)
    return {'name': name, 'dtype': 'F64', 'shape': list(shape), 'sha256': hashlib.sha256(raw).hexdigest(), 'encoding': {'layout': 'stored'}}


def i64(name, shape, values):
    raw = b''.join(struct.pack('<q', int(v)) for v in values)
    return {'name': name, 'dtype': 'I64', 'shape': list(shape), 'sha256': hashlib.sha256(raw).hexdigest(), 'encoding': {'layout': 'stored'}}


HOSTILE = os.path.join(ROOT, 'test', 'fixtures', 'pmml-pfa-hostile')


def write(fmt, name, text, exercises, tensors=None, error=None, folder=None):
    folder = folder or os.path.join(OUT, fmt)
    os.makedirs(folder, exist_ok=True)
    data = text if isinstance(text, bytes) else text.encode('utf-8')
    with open(os.path.join(folder, name), 'wb') as f:
        f.write(data)
    exp = {'format': fmt, 'producer': PRODUCER, 'exercises': exercises}
    if error is not None:
        exp['error'] = error
    else:
        exp['tensors'] = tensors
    with open(os.path.join(folder, name + '.expected.json'), 'w') as f:
        json.dump(exp, f, indent=1)
        f.write('\n')


# ---- PMML, read by Python ---------------------------------------------------------------------------

def local(tag):
    return tag.rsplit('}', 1)[-1].rsplit(':', 1)[-1]


def kids(el, name):
    return [c for c in el if local(c.tag) == name]


def kid(el, name):
    k = kids(el, name)
    return k[0] if k else None


def tokens(text):
    import shlex
    return shlex.split(text or '', posix=True) if '"' in (text or '') else (text or '').split()


def numeric_array(el):
    if local(el.tag).endswith('SparseArray'):
        n = int(el.get('n'))
        out = [float(el.get('defaultValue', '0'))] * n
        idx = kid(el, 'Indices')
        ent = [c for c in el if local(c.tag) in ('REAL-Entries', 'INT-Entries')]
        idx = [int(t) for t in tokens(idx.text)] if idx is not None else []
        ent = [float(t) for t in tokens(ent[0].text)] if ent else []
        for i, v in zip(idx, ent):
            out[i - 1] = v
        return out
    vals = [float(t) for t in tokens(el.text)]
    if el.get('n') is not None:
        assert int(el.get('n')) == len(vals)
    return vals


MODELS = {'NeuralNetwork', 'RegressionModel', 'GeneralRegressionModel', 'SupportVectorMachineModel', 'ClusteringModel', 'MiningModel', 'TreeModel'}


def pmml_models(parent, prefix, out):
    seen = {}
    for el in parent:
        kind = local(el.tag)
        if kind not in MODELS:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        path = prefix + (kind if seen[kind] == 1 else f'{kind}#{seen[kind]}')
        pmml_model(el, kind, path, out)


def pmml_model(el, kind, path, out):
    if kind == 'NeuralNetwork':
        prev = [i.get('id').strip() for i in kids(kid(el, 'NeuralInputs'), 'NeuralInput')]
        for l, layer in enumerate(kids(el, 'NeuralLayer')):
            neurons = kids(layer, 'Neuron')
            w = [[0.0] * len(prev) for _ in neurons]
            for i, n in enumerate(neurons):
                for c in kids(n, 'Con'):
                    w[i][prev.index(c.get('from').strip())] = float(c.get('weight'))
            out.append(f64(f'{path}/layer{l}/weight', [len(neurons), len(prev)], [v for row in w for v in row]))
            out.append(f64(f'{path}/layer{l}/bias', [len(neurons)], [float(n.get('bias', '0')) for n in neurons]))
            prev = [n.get('id').strip() for n in neurons]
    elif kind == 'RegressionModel':
        for t, table in enumerate(kids(el, 'RegressionTable')):
            at = f'{path}/table{t}'
            out.append(f64(f'{at}/intercept', [], [float(table.get('intercept'))]))
            num = kids(table, 'NumericPredictor')
            out.append(f64(f'{at}/coefficients', [len(num)], [float(p.get('coefficient')) for p in num]))
            exps = [float(p.get('exponent', '1')) for p in num]
            if any(e != 1 for e in exps):
                out.append(f64(f'{at}/exponents', [len(num)], exps))
            cat = kids(table, 'CategoricalPredictor')
            if cat:
                out.append(f64(f'{at}/categoricalCoefficients', [len(cat)], [float(p.get('coefficient')) for p in cat]))
    elif kind == 'GeneralRegressionModel':
        cells = kids(kid(el, 'ParamMatrix'), 'PCell')
        cats = []
        for c in cells:
            if c.get('targetCategory', '') not in cats:
                cats.append(c.get('targetCategory', ''))
        for k, cat in enumerate(cats):
            mine = [c for c in cells if c.get('targetCategory', '') == cat]
            name = f'{path}/category{k}/beta' if len(cats) > 1 else f'{path}/beta'
            out.append(f64(name, [len(mine)], [float(c.get('beta')) for c in mine]))
    elif kind == 'SupportVectorMachineModel':
        vd = kid(el, 'VectorDictionary')
        fields = [f for f in kid(vd, 'VectorFields') if local(f.tag) in ('FieldRef', 'CategoricalPredictor')]
        insts = kids(vd, 'VectorInstance')
        ids = [i.get('id') for i in insts]
        rows = []
        for i in insts:
            arr = [c for c in i if local(c.tag) in ('Array', 'REAL-SparseArray', 'INT-SparseArray')][0]
            rows += numeric_array(arr)
        out.append(f64(f'{path}/vectors', [len(insts), len(fields)], rows))
        for m, svm in enumerate(kids(el, 'SupportVectorMachine')):
            co = kid(svm, 'Coefficients')
            cs = kids(co, 'Coefficient')
            out.append(f64(f'{path}/machine{m}/coefficients', [len(cs)], [float(c.get('value', '0')) for c in cs]))
            out.append(f64(f'{path}/machine{m}/absoluteValue', [], [float(co.get('absoluteValue', '0'))]))
            sv = kid(svm, 'SupportVectors')
            if sv is not None:
                refs = kids(sv, 'SupportVector')
                out.append(i64(f'{path}/machine{m}/supportVectors', [len(refs)], [ids.index(r.get('vectorId')) for r in refs]))
    elif kind == 'ClusteringModel':
        clusters = kids(el, 'Cluster')
        rows = [numeric_array([c for c in cl if local(c.tag) in ('Array', 'REAL-SparseArray', 'INT-SparseArray')][0]) for cl in clusters]
        out.append(f64(f'{path}/centers', [len(rows), len(rows[0])], [v for r in rows for v in r]))
    elif kind == 'MiningModel':
        seg = kid(el, 'Segmentation')
        if seg is not None:
            for k, s in enumerate(kids(seg, 'Segment')):
                pmml_models(s, f'{path}/segment{s.get("id", str(k + 1))}/', out)
        pmml_models(el, f'{path}/', out)


def pmml(name, text, exercises):
    root = ET.fromstring(text.encode('utf-8'))
    assert local(root.tag) == 'PMML'
    out = []
    pmml_models(root, '', out)
    write('pmml', name, text, exercises, out)


HEADER = '<Header copyright="tensorsafe fixture"><Application name="make-pmml-pfa-fixtures.py" version="1"/></Header>'

pmml('neural-network.pmml', f'''<?xml version="1.0" encoding="UTF-8"?>
<!-- A feed-forward network as JPMML's NeuralNetwork tests and dmg.org's example lay it out. -->
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
\t{HEADER}
\t<DataDictionary numberOfFields="4">
\t\t<DataField name="x1" optype="continuous" dataType="double"/>
\t\t<DataField name="x2" optype="continuous" dataType="double"/>
\t\t<DataField name="x3" optype="continuous" dataType="double"/>
\t\t<DataField name="y" optype="continuous" dataType="double"/>
\t</DataDictionary>
\t<NeuralNetwork modelName="net" functionName="regression" activationFunction="tanh" numberOfLayers="2">
\t\t<MiningSchema><MiningField name="x1"/><MiningField name="x2"/><MiningField name="x3"/><MiningField name="y" usageType="target"/></MiningSchema>
\t\t<NeuralInputs numberOfInputs="3">
\t\t\t<NeuralInput id="0"><DerivedField optype="continuous" dataType="double"><FieldRef field="x1"/></DerivedField></NeuralInput>
\t\t\t<NeuralInput id="1"><DerivedField optype="continuous" dataType="double"><FieldRef field="x2"/></DerivedField></NeuralInput>
\t\t\t<NeuralInput id="2"><DerivedField optype="continuous" dataType="double"><FieldRef field="x3"/></DerivedField></NeuralInput>
\t\t</NeuralInputs>
\t\t<NeuralLayer numberOfNeurons="3">
\t\t\t<Neuron id="3" bias="0.1"><Con from="0" weight="-0.3333333333333333333333"/><Con from="1" weight="2.5E+10"/><Con from="2" weight="1e-320"/></Neuron>
\t\t\t<Neuron id="4" bias="-0"><Con from="2" weight="123456789012345678901234567890"/><Con from=" 0 " weight="  7.0000000000000000000001  "/></Neuron>
\t\t\t<Neuron id="5"><Con from="1" weight="&#x2d;1.5"/></Neuron>
\t\t</NeuralLayer>
\t\t<NeuralLayer numberOfNeurons="1" activationFunction="identity">
\t\t\t<Neuron id="6" bias="0.30000000000000004"><Con from="3" weight="0.1"/><Con from="4" weight="0.2"/><Con from="5" weight="-INF"/></Neuron>
\t\t</NeuralLayer>
\t\t<NeuralOutputs><NeuralOutput outputNeuron="6"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs>
\t</NeuralNetwork>
</PMML>
''', 'NeuralNetwork: two layers, a missing connection (0), Con out of order, padded ids and numbers, character references, subnormal, -0, INF, 30-digit decimals')

pmml('regression.pmml', f'''<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-3_2" version="3.2">
  {HEADER}
  <DataDictionary numberOfFields="4">
    <DataField name="age" optype="continuous" dataType="double"/>
    <DataField name="income" optype="continuous" dataType="double"/>
    <DataField name="car" optype="categorical" dataType="string"><Value value="box"/><Value value="sport"/></DataField>
    <DataField name="class" optype="categorical" dataType="string"><Value value="yes"/><Value value="no"/></DataField>
  </DataDictionary>
  <RegressionModel modelName="logit" functionName="classification" normalizationMethod="softmax">
    <MiningSchema><MiningField name="age"/><MiningField name="income"/><MiningField name="car"/><MiningField name="class" usageType="predicted"/></MiningSchema>
    <RegressionTable intercept="-3.5" targetCategory="yes">
      <NumericPredictor name="age" exponent="1" coefficient="0.0125"/>
      <NumericPredictor name="income" exponent="2" coefficient="-1.7e-9"/>
      <CategoricalPredictor name="car" value="box" coefficient="0.1"/>
      <CategoricalPredictor name="car" value="sport" coefficient="1.2"/>
      <PredictorTerm coefficient="0.5"><FieldRef field="age"/><FieldRef field="income"/></PredictorTerm>
    </RegressionTable>
    <RegressionTable intercept="0" targetCategory="no"/>
  </RegressionModel>
</PMML>
''', 'RegressionModel (PMML 3.2): two tables, exponents, categorical predictors, an interaction term left out, an empty table')

pmml('general-regression.pmml', f'''<?xml version="1.0"?>
<PMML xmlns="http://www.dmg.org/PMML-4_3" version="4.3">
  {HEADER}
  <DataDictionary numberOfFields="2"><DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="categorical" dataType="string"/></DataDictionary>
  <GeneralRegressionModel modelType="multinomialLogistic" functionName="classification">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <ParameterList><Parameter name="p0" label="Intercept"/><Parameter name="p1" label="x"/></ParameterList>
    <PPMatrix><PPCell value="1" predictorName="x" parameterName="p1"/></PPMatrix>
    <ParamMatrix>
      <PCell targetCategory="a" parameterName="p0" beta="26.836" df="1"/>
      <PCell targetCategory="a" parameterName="p1" beta="-6.2730" df="1"/>
      <PCell targetCategory="b" parameterName="p0" beta="1.0E-3" df="1"/>
      <PCell targetCategory="b" parameterName="p1" beta=".5" df="1"/>
    </ParamMatrix>
  </GeneralRegressionModel>
</PMML>
''', 'GeneralRegressionModel: ParamMatrix with two target categories')

pmml('support-vector-machine.pmml', f'''<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PMML xmlns="http://www.dmg.org/PMML-4_1" version="4.1">
\t{HEADER}
\t<DataDictionary numberOfFields="4">
\t\t<DataField name="x1" optype="continuous" dataType="double"/>
\t\t<DataField name="x2" optype="continuous" dataType="double"/>
\t\t<DataField name="x3" optype="continuous" dataType="double"/>
\t\t<DataField name="class" optype="categorical" dataType="string"/>
\t</DataDictionary>
\t<SupportVectorMachineModel functionName="classification" svmRepresentation="SupportVectors" classificationMethod="OneAgainstOne">
\t\t<MiningSchema><MiningField name="x1"/><MiningField name="x2"/><MiningField name="x3"/><MiningField name="class" usageType="predicted"/></MiningSchema>
\t\t<RadialBasisKernelType gamma="1.0"/>
\t\t<VectorDictionary numberOfVectors="4">
\t\t\t<VectorFields numberOfFields="3"><FieldRef field="x1"/><FieldRef field="x2"/><FieldRef field="x3"/></VectorFields>
\t\t\t<VectorInstance id="mv0"><REAL-SparseArray n="3"/></VectorInstance>
\t\t\t<VectorInstance id="mv1"><REAL-SparseArray n="3" defaultValue="0.5"><Indices>3 1</Indices><REAL-Entries>1.0 -2.25</REAL-Entries></REAL-SparseArray></VectorInstance>
\t\t\t<VectorInstance id="mv2"><Array type="real" n="3">0.1 "0.2" 3E2</Array></VectorInstance>
\t\t\t<VectorInstance id="mv3"><Array n="3" type="real">
\t\t\t\t1.7976931348623157e308
\t\t\t\t4.9e-324 -0.0
\t\t\t</Array></VectorInstance>
\t\t</VectorDictionary>
\t\t<SupportVectorMachine targetCategory="a" alternateTargetCategory="b">
\t\t\t<SupportVectors numberOfSupportVectors="3" numberOfAttributes="3"><SupportVector vectorId="mv3"/><SupportVector vectorId="mv0"/><SupportVector vectorId="mv1"/></SupportVectors>
\t\t\t<Coefficients numberOfCoefficients="3" absoluteValue="0.5"><Coefficient value="-1.0"/><Coefficient value="1.0"/><Coefficient/></Coefficients>
\t\t</SupportVectorMachine>
\t\t<SupportVectorMachine targetCategory="b" alternateTargetCategory="c">
\t\t\t<SupportVectors numberOfSupportVectors="1" numberOfAttributes="3"><SupportVector vectorId="mv2"/></SupportVectors>
\t\t\t<Coefficients numberOfCoefficients="1"><Coefficient value="3.25"/></Coefficients>
\t\t</SupportVectorMachine>
\t</SupportVectorMachineModel>
</PMML>
''', 'SupportVectorMachineModel: REAL-SparseArray densified (default value, indices out of order, empty), Array with a quoted number and line breaks, extreme doubles, two machines')

pmml('clustering.pmml', f'''<?xml version='1.0' encoding='utf-8'?>
<pmml:PMML xmlns:pmml="http://www.dmg.org/PMML-4_2" version="4.2">
  <pmml:Header/>
  <pmml:DataDictionary numberOfFields="2"><pmml:DataField name="a" optype="continuous" dataType="double"/><pmml:DataField name="b" optype="continuous" dataType="double"/></pmml:DataDictionary>
  <pmml:ClusteringModel modelClass="centerBased" numberOfClusters="3" functionName="clustering">
    <pmml:MiningSchema><pmml:MiningField name="a"/><pmml:MiningField name="b"/></pmml:MiningSchema>
    <pmml:ComparisonMeasure kind="distance"><pmml:squaredEuclidean/></pmml:ComparisonMeasure>
    <pmml:ClusteringField field="a" compareFunction="absDiff"/>
    <pmml:ClusteringField field="b" compareFunction="absDiff"/>
    <pmml:Cluster name="setosa" size="50"><pmml:Array n="2" type="real">5.006 3.428</pmml:Array></pmml:Cluster>
    <pmml:Cluster name="versicolor" size="38"><pmml:Array n="2" type="real"><![CDATA[5.9016129032258]]> 2.7483870967742</pmml:Array></pmml:Cluster>
    <pmml:Cluster name="virginica" size="62"><pmml:Array n="2" type="real">6.85 3.0736842105263&#10;</pmml:Array></pmml:Cluster>
  </pmml:ClusteringModel>
</pmml:PMML>
''', 'ClusteringModel with a namespace prefix on every element: centres as a matrix, one Array with CDATA, one with a character reference')

pmml('mining-model.pmml', f'''<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  {HEADER}
  <DataDictionary numberOfFields="2"><DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <MiningModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Segmentation multipleModelMethod="sum">
      <Segment id="first"><True/>
        <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
          <RegressionTable intercept="1.25"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
        </RegressionModel>
      </Segment>
      <Segment id="2"><True/>
        <MiningModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
          <Segmentation multipleModelMethod="average">
            <Segment><True/>
              <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
                <RegressionTable intercept="-0.5"><NumericPredictor name="x" coefficient="0.25"/></RegressionTable>
              </RegressionModel>
            </Segment>
            <Segment><True/>
              <TreeModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema><Node score="1"><True/></Node></TreeModel>
            </Segment>
          </Segmentation>
        </MiningModel>
      </Segment>
    </Segmentation>
  </MiningModel>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
    <RegressionTable intercept="9"><NumericPredictor name="x" coefficient="-9"/></RegressionTable>
  </RegressionModel>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
    <RegressionTable intercept="8"/>
  </RegressionModel>
</PMML>
''', 'MiningModel: segments by id and by position, a nested MiningModel, a TreeModel left out; two top-level RegressionModels (#2)')

# Refused documents: the reader's code is the expected outcome.
# Dangerous documents: the reader refuses them with its code; convert refuses them as UnsafeFile (the scan
# calls them dangerous first), so they live outside the data-driven folder (test/pmml-pfa.test.ts).
write('pmml', 'entity.pmml', '<?xml version="1.0"?>\n<PMML version="4.4"><Header copyright="&xxe;"/></PMML>\n', 'a reference to an undeclared entity', error='XmlEntityRefused', folder=HOSTILE)
write('pmml', 'xxe.pmml', '<?xml version="1.0"?>\n<!DOCTYPE PMML [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<PMML version="4.4"><Header copyright="&xxe;"/></PMML>\n', 'XXE: an external entity naming a file', error='XmlDoctypeRefused', folder=HOSTILE)
write('pmml', 'billion-laughs.pmml', '<?xml version="1.0"?>\n<!DOCTYPE PMML [\n' + ''.join(f' <!ENTITY lol{i} "' + (f'&lol{i-1};' * 10 if i else 'lol') + '">\n' for i in range(10)) + ']>\n<PMML version="4.4"><Header copyright="&lol9;"/></PMML>\n', 'billion laughs: nested entities', error='XmlDoctypeRefused', folder=HOSTILE)
write('pmml', 'latin1.pmml', '<?xml version="1.0" encoding="ISO-8859-1"?>\n<PMML version="4.4"><Header/></PMML>\n'.encode('latin-1'), 'an XML declaration naming another encoding', error='XmlEncodingRefused')
write('pmml', 'bad-number.pmml', '<?xml version="1.0"?>\n<PMML version="4.4"><RegressionModel functionName="regression"><RegressionTable intercept="0x10"/></RegressionModel></PMML>\n', 'a number in hexadecimal', error='InvalidPmml')
write('pmml', 'tree-only.pmml', '<?xml version="1.0"?>\n<PMML version="4.4"><Header/><TreeModel functionName="regression"><Node score="1"><True/></Node></TreeModel></PMML>\n', 'a document whose only model is a tree: nothing to convert', error='NoTensors')
write('pmml', 'sparse-out-of-range.pmml', '<?xml version="1.0"?>\n<PMML version="4.4"><ClusteringModel functionName="clustering"><Cluster><REAL-SparseArray n="2"><Indices>3</Indices><REAL-Entries>1</REAL-Entries></REAL-SparseArray></Cluster></ClusteringModel></PMML>\n', 'a sparse index past n', error='InvalidPmml')


# ---- PFA, read by Python ----------------------------------------------------------------------------

def pfa_value(v, path, out, taken):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return
    if isinstance(v, (int, float)):
        out.append(f64(claim(taken, path), [], [v]))
        return
    if isinstance(v, list):
        shape = []
        e = v
        while isinstance(e, list):
            shape.append(len(e))
            e = e[0] if e else None
        if isinstance(e, (int, float)) and not isinstance(e, bool) or not v or (e is None and shape[-1] == 0):
            flat = v
            for _ in range(len(shape) - 1):
                flat = [x for row in flat for x in row]
            out.append(f64(claim(taken, path), shape, flat))
            return
        for i, x in enumerate(v):
            pfa_value(x, f'{path}.{i}', out, taken)
        return
    for k, x in v.items():
        pfa_value(x, f'{path}.{k}', out, taken)


def claim(taken, name):
    n, i = name, 2
    while n in taken:
        n, i = f'{name}#{i}', i + 1
    taken.add(n)
    return n


def pfa(name, text, exercises, syntax):
    doc = json.loads(text) if syntax == 'json' else yaml.safe_load(text)
    out, taken = [], set()
    for cname, cell in (doc.get('cells') or {}).items():
        if cell.get('source') in ('json', 'avro'):
            continue
        pfa_value(cell['init'], cname, out, taken)
    for pname, pool in (doc.get('pools') or {}).items():
        if pool.get('source') in ('json', 'avro'):
            continue
        for k, item in (pool.get('init') or {}).items():
            pfa_value(item, f'{pname}.{k}', out, taken)
    write('pfa', name, text, exercises, out)


pfa('kmeans.pfa', json.dumps({
    'input': {'type': 'array', 'items': 'double'},
    'output': 'string',
    'cells': {
        'clusters': {
            'type': {'type': 'array', 'items': {'type': 'record', 'name': 'Cluster', 'fields': [{'name': 'center', 'type': {'type': 'array', 'items': 'double'}}, {'name': 'id', 'type': 'string'}]}},
            'init': [{'center': [1.0, 0.1, 3.14159], 'id': 'one'}, {'center': [-2.5e-7, 1e300, 0], 'id': 'two'}, {'center': [4, 5, 6.000000000000001], 'id': 'three'}],
        },
        'steps': {'type': 'int', 'init': 3},
    },
    'action': [{'attr': {'model.cluster.closest': ['input', {'cell': 'clusters'}]}, 'path': [{'string': 'id'}]}],
}, indent=1), 'a k-means model as Hadrian writes one: an array of Cluster records (center, id) by index, an int cell as a scalar; the action is data', 'json')

pfa('linear.pfa', json.dumps({
    'name': 'linear', 'method': 'map',
    'input': {'type': 'array', 'items': 'double'}, 'output': {'type': 'array', 'items': 'double'},
    'cells': {
        'model': {'type': {'type': 'record', 'name': 'Model', 'fields': [{'name': 'coeff', 'type': {'type': 'array', 'items': {'type': 'array', 'items': 'double'}}}, {'name': 'const', 'type': {'type': 'array', 'items': 'double'}}]},
                  'init': {'coeff': [[1, 2, 3], [0.1, 0.2, 0.30000000000000004], [-1e-5, 1.5e10, 123456789.123456789]], 'const': [0.5, -0.5, 0]}},
        'empty': {'type': {'type': 'array', 'items': 'double'}, 'init': []},
        'cube': {'type': 'x', 'init': [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]},
        'label': {'type': 'string', 'init': 'left out'},
        'remote': {'type': 'double', 'source': 'json', 'init': 'https://example.invalid/weights.json'},
    },
    'pools': {'table': {'type': {'type': 'array', 'items': 'double'}, 'init': {'k1': [1.25, 2.5], 'k2': [], 'k3': 7}}},
    'action': [{'model.reg.linear': ['input', {'cell': 'model'}]}],
    'fcns': {'square': {'params': [{'x': 'double'}], 'ret': 'double', 'do': {'*': ['x', 'x']}}},
}), 'a linear model record (a matrix and a vector), an empty array, a 3-d tensor, a string left out, an external cell never fetched, a pool of arrays and a scalar', 'json')

pfa('model.pfa.yaml', '''# A PFA document in YAML (Hadrian and Titus read YAML as they read JSON).
name: yaml-model
input: double
output: double
cells:
  weights:
    type: {type: array, items: {type: array, items: double}}
    init:
      - [0.5, -1.25, 3.0e+2]
      - [1, 2, 3]
  bias: {type: double, init: -0.75}
  shared:
    type: {type: array, items: double}
    init: &row [1.5, 2.5]
  again:
    type: {type: array, items: double}
    init: *row
pools:
  history:
    type: double
    init: {a: 1.0, b: 2.0}
action:
  - {+: [input, {cell: bias}]}
''', 'YAML: a matrix, a scalar, an anchor and its alias, a pool', 'yaml')

write('pfa', 'ragged.pfa', json.dumps({'input': 'double', 'output': 'double', 'cells': {'w': {'type': 'x', 'init': [[1, 2], [3]]}}, 'action': ['input']}), 'rows of different lengths', error='PfaRaggedArray')
write('pfa', 'python-tag.pfa.yaml', 'input: double\noutput: double\ncells:\n  w: {type: double, init: !!python/object/apply:os.system [echo pwned]}\naction: [input]\n', 'a YAML !!python tag: refused by the reader (the scan calls it dangerous)', error='InvalidPfa', folder=HOSTILE)
write('pfa', 'alias-bomb.pfa.yaml', 'input: double\noutput: double\n' + 'a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n' + ''.join(f'a{i}: &a{i} [' + ', '.join([f'*a{i-1}'] * 10) + ']\n' for i in range(1, 9)) + 'action: [input]\n', 'billion laughs in YAML: aliases of aliases', error='PfaLimit', folder=HOSTILE)
write('pfa', 'external-init.pfa', json.dumps({'input': 'double', 'output': 'double', 'cells': {'w': {'type': 'double', 'source': 'json', 'init': 'file:///etc/passwd'}, 'b': {'type': 'double', 'init': 1.5}}, 'action': ['input']}), 'a cell whose init is a file: never fetched, reported by the scan', tensors=[f64('b', [], [1.5])], folder=HOSTILE)
write('pfa', 'no-cells.pfa', '{"input": "double", "output": "double", "action": [{"+": ["input", 10]}]}\n', "a PFA document with no cells (as Hadrian's aurelius example): nothing to convert", error='NoTensors')
print('written')
