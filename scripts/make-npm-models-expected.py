#!/usr/bin/python3
"""Writes test/fixtures/npm-models/tflite.json: for each .tflite of the npm packages that
scripts/fetch-npm-models.sh unpacks into .cache/npm-models/, its constant tensors as flatc reads them
(name, dtype, shape, SHA-256 of the buffer's bytes; `sparse` for a tensor stored in TFLite's
sparse form, whose buffer is not its dense values, with `dense_sha256` the SHA-256 of the dense tensor
that scripts/make-tflite-fixtures.py's `densify_reference` (a per-element walk of the sparsity tree,
independent of tensorsafe's densifier) makes of it), by scripts/make-tflite-corpus-expected.py's
`expected()`: the same naming and rules as the shared corpus's expected values. CI has no flatc: the
test compares tensorsafe's reading with this committed file, when the packages are present.
Run: scripts/fetch-npm-models.sh && /usr/bin/python3 scripts/make-npm-models-expected.py
"""
import importlib.util, json, os, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, '.cache', 'npm-models')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'npm-models', 'tflite.json')
spec = importlib.util.spec_from_file_location('corpus_expected', os.path.join(ROOT, 'scripts', 'make-tflite-corpus-expected.py'))
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)
spec = importlib.util.spec_from_file_location('tflite_fixtures', os.path.join(ROOT, 'scripts', 'make-tflite-fixtures.py'))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)
NUMPY = {'F32': 'float32', 'F16': 'float16', 'F64': 'float64', 'I8': 'int8', 'U8': 'uint8', 'I16': 'int16', 'U16': 'uint16',
         'I32': 'int32', 'U32': 'uint32', 'I64': 'int64', 'U64': 'uint64', 'BOOL': 'bool', 'C64': 'complex64'}


def densify(shape, sparsity, raw, dtype):
    return fixtures.densify_reference(shape, sparsity, fixtures.np.frombuffer(raw, NUMPY[dtype])).tobytes()


files = {}
for dirpath, _, names in os.walk(CACHE):
    for n in sorted(names):
        if n.endswith('.tflite'):
            p = os.path.join(dirpath, n)
            files[os.path.relpath(p, CACHE)] = corpus.expected(p, mark_sparse=True, densify=densify)
assert files, f'no .tflite under {CACHE}: run scripts/fetch-npm-models.sh first'
os.makedirs(os.path.dirname(OUT), exist_ok=True)
flatc = subprocess.run(['flatc', '--version'], capture_output=True, text=True).stdout.strip()
with open(OUT, 'w') as f:
    json.dump({'producer': flatc, 'files': dict(sorted(files.items()))}, f, indent=0)
    f.write('\n')
print(f'{len(files)} files, {sum(len(t) for t in files.values())} tensors')
