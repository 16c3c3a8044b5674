#!/usr/bin/python3
"""Writes test/fixtures/corpus-expected/keras.json: for every Keras file of ../shared/corpus/formats/keras-h5
(legacy .h5) and ../shared/corpus/formats/keras/{adit3101,flownet,keras-testdata} (.keras; not malicious/,
never loaded here), its weights as h5py reads them: name, dtype, shape, SHA-256 of the C-order
little-endian bytes, with the layout and Keras version.

Names as README's "### Keras" gives them, written out for the layers these files have (Dense only;
anything else stops the script): legacy files, each weight_names entry without `:0` and, for Keras 3,
without the model's name in front; Keras 3 weights, `<name attribute>/kernel` and `/bias`.
Run: /usr/bin/python3 scripts/make-keras-corpus-expected.py
"""
import hashlib, io, json, os, zipfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, '..', 'shared', 'corpus', 'formats')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'corpus-expected', 'keras.json')
ST = {('f', 4): 'F32', ('f', 8): 'F64', ('i', 8): 'I64', ('i', 4): 'I32'}


def tensor(name, ds):
    a = np.ascontiguousarray(ds[()])
    if a.dtype.byteorder == '>':
        a = a.astype(a.dtype.newbyteorder('<'))
    return {'name': name, 'dtype': ST[(a.dtype.kind, a.dtype.itemsize)], 'shape': list(a.shape), 'sha256': hashlib.sha256(a.tobytes()).hexdigest()}


def text(v):
    return v.decode('utf8') if isinstance(v, bytes) else str(v)


def names(group, attr):
    if attr in group.attrs:
        return [text(n) for n in group.attrs[attr]]
    out, i = [], 0
    while f'{attr}{i}' in group.attrs:
        out += [text(n) for n in group.attrs[f'{attr}{i}']]
        i += 1
    return out


def legacy(path):
    f = h5py.File(path, 'r')
    version = text(f.attrs['keras_version'])
    model = json.loads(text(f.attrs['model_config']))['config']
    model_name = model.get('name') if isinstance(model, dict) else None
    mw = f['model_weights']
    tensors = []
    for layer in names(mw, 'layer_names'):
        for w in names(mw[layer], 'weight_names'):
            n = w[:-2] if w.endswith(':0') else w
            if version.startswith('3.') and model_name and n.startswith(model_name + '/'):
                n = n[len(model_name) + 1:]
            tensors.append(tensor(n, mw[layer][w]))
    return {'layout': 'legacy-model', 'keras_version': version, 'tensors': tensors}


def keras3(path):
    z = zipfile.ZipFile(path)
    assert len(z.namelist()) == len(set(z.namelist()))
    f = h5py.File(io.BytesIO(z.read('model.weights.h5')), 'r')
    meta = json.loads(z.read('metadata.json'))
    tensors = []
    for seg in f['layers']:
        obj = f['layers'][seg]
        assert set(obj.keys()) == {'vars'}, (path, seg, list(obj.keys()))
        vs = obj['vars']
        keys = sorted(vs.keys(), key=int)
        if not keys:
            continue
        assert seg.rstrip('0123456789').rstrip('_') == 'dense', (path, seg)
        for k, var in zip(keys, ['kernel', 'bias']):
            tensors.append(tensor(f"{text(vs.attrs['name'])}/{var}", vs[k]))
    return {'layout': 'keras3-h5', 'keras_version': meta['keras_version'], 'tensors': tensors}


def main():
    out = {}
    for d in sorted(os.listdir(os.path.join(CORPUS, 'keras-h5'))):
        for f in sorted(os.listdir(os.path.join(CORPUS, 'keras-h5', d))):
            out[f'keras-h5/{d}/{f}'] = legacy(os.path.join(CORPUS, 'keras-h5', d, f))
    for d in ['adit3101', 'flownet', 'keras-testdata']:
        for f in sorted(os.listdir(os.path.join(CORPUS, 'keras', d))):
            out[f'keras/{d}/{f}'] = keras3(os.path.join(CORPUS, 'keras', d, f))
    with open(OUT, 'w') as fh:
        json.dump(out, fh, indent=1)
        fh.write('\n')
    print('wrote', OUT, {k: len(v['tensors']) for k, v in out.items()})


if __name__ == '__main__':
    main()
