#!/usr/bin/python3
"""Writes test/fixtures/corpus-expected/hdf5.json: for every legacy Keras .h5 of ../shared/corpus/formats/keras-h5
and the model.weights.h5 inside each .keras archive of ../shared/corpus/formats/keras (never the malicious
folder), every numeric dataset as h5py (Debian python3-h5py) reads it: by path without the leading '/', in
the order the HDF5 reader lists them (depth first, links by name, every path of a hard or soft link), with
dtype, shape and the SHA-256 of its little-endian row-major bytes; and the paths left out.
Run: /usr/bin/python3 scripts/make-hdf5-corpus-expected.py
"""
import glob, importlib.util, io, json, os, zipfile

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, '..', 'shared', 'corpus')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'corpus-expected', 'hdf5.json')

spec = importlib.util.spec_from_file_location('fixtures', os.path.join(ROOT, 'scripts', 'make-hdf5-fixtures.py'))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)


def expected(f):
    tensors, left = fixtures.walk(f)
    return {'tensors': [fixtures.expected_tensor(p, d) for p, d in tensors], 'leftOut': left}


def main():
    files = {}
    for path in sorted(glob.glob(os.path.join(CORPUS, 'formats', 'keras-h5', '*', '*.h5'))):
        with h5py.File(path, 'r') as f:
            files[os.path.relpath(path, CORPUS)] = expected(f)
    for path in sorted(glob.glob(os.path.join(CORPUS, 'formats', 'keras', '*', '*.keras'))):
        if os.sep + 'malicious' + os.sep in path:
            continue
        with zipfile.ZipFile(path) as z:
            data = z.read('model.weights.h5')
        with h5py.File(io.BytesIO(data), 'r') as f:
            files[os.path.relpath(path, CORPUS) + ':model.weights.h5'] = expected(f)
    with open(OUT, 'w') as out:
        json.dump({'producer': f'h5py {h5py.__version__}, HDF5 {h5py.version.hdf5_version}', 'files': files}, out, indent=1)
        out.write('\n')


if __name__ == '__main__':
    main()
