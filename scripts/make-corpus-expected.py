#!/usr/bin/python3
"""Writes test/fixtures/corpus-expected/pytorch.json: for every benign PyTorch file of
../shared/corpus, the tensors torch itself loads (torch.load(weights_only=True, map_location='cpu')),
by path, with dtype, shape and the SHA-256 of their contiguous little-endian bytes.

Only files labelled benign are loaded, and only with weights_only=True. Files torch cannot load
that way are listed under "not_loaded" with torch's reason.
Run: /usr/bin/python3 scripts/make-corpus-expected.py   (Debian python3-torch)
"""
import csv
import hashlib
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, '..', 'shared', 'corpus')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'corpus-expected', 'pytorch.json')

DTYPES = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64',
          torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL', torch.complex64: 'C64'}


def raw(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    if t.dtype == torch.complex64:
        t = torch.view_as_real(t).contiguous()
    return t.numpy().tobytes()


def walk(v, path, out, seen):
    if isinstance(v, torch.Tensor):
        out[path] = {'dtype': DTYPES.get(v.dtype, str(v.dtype)), 'shape': list(v.shape), 'sha256': hashlib.sha256(raw(v)).hexdigest()}
        return
    if id(v) in seen:
        return
    seen.add(id(v))
    join = (lambda k: f'{path}.{k}' if path else str(k))
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x, join(k), out, seen)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            walk(x, join(i), out, seen)


def benign_files():
    rows = []
    with open(os.path.join(CORPUS, 'formats', 'MANIFEST.tsv')) as f:
        for r in csv.reader(f, delimiter='\t'):
            if len(r) > 6 and r[1] == 'pytorch' and 'MALICIOUS' not in r[6] and 'MALFORMED' not in r[6]:
                rows.append(os.path.join('formats', r[0]))
    with open(os.path.join(CORPUS, 'pickle', 'MANIFEST.tsv')) as f:
        for r in csv.reader(f, delimiter='\t'):
            if len(r) > 6 and r[5] == 'benign' and ('torch.save' in r[6] or 'legacy (pre-1.6' in r[6]):
                rows.append(os.path.join('pickle', r[0]))
    return rows


def main():
    result = {'torch': torch.__version__, 'files': {}, 'not_loaded': {}}
    for rel in benign_files():
        try:
            obj = torch.load(os.path.join(CORPUS, rel), weights_only=True, map_location='cpu')
        except Exception as e:  # noqa: BLE001 - the reason is recorded
            result['not_loaded'][rel] = (type(e).__name__ + ': ' + str(e)).strip().splitlines()[-1][:300]
            continue
        tensors = {}
        walk(obj, '', tensors, set())
        result['files'][rel] = tensors
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f"{len(result['files'])} loaded, {len(result['not_loaded'])} not loaded", file=sys.stderr)


if __name__ == '__main__':
    main()
