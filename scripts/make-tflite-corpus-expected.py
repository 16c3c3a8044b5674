#!/usr/bin/python3
"""Writes test/fixtures/corpus-expected/tflite.json: for every .tflite file of ../shared/corpus/formats/tflite,
its constant tensors as flatc (Debian flatbuffers-compiler) reads the FlatBuffer with
scripts/tflite-schema-subset.fbs: by output name (subgraph 0's tensors by their names, others
`<subgraph name or index>/<name>`, unnamed ones `#<index>`, a taken name `#2`, `#3`, …), with dtype,
shape, the SHA-256 of the buffer's bytes (INT4 unpacked to sign-extended bytes) and the quantization
parameters flatc prints (counts, the first scale as flatc prints it: 6 decimals, the zero points' sum).
Constant inputs that only named custom operators read (Ethos-U's command stream and flash) are not tensors. Buffers given by offset/size are read from the file at that offset.
Run: /usr/bin/python3 scripts/make-tflite-corpus-expected.py
"""
import hashlib, json, os, subprocess, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, '..', 'shared', 'corpus')
BASE = os.path.join(CORPUS, 'formats', 'tflite')
SCHEMA = os.path.join(ROOT, 'scripts', 'tflite-schema-subset.fbs')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'corpus-expected', 'tflite.json')
DTYPES = {'FLOAT32': 'F32', 'FLOAT16': 'F16', 'INT32': 'I32', 'UINT8': 'U8', 'INT64': 'I64', 'BOOL': 'BOOL', 'INT16': 'I16',
          'COMPLEX64': 'C64', 'INT8': 'I8', 'FLOAT64': 'F64', 'UINT64': 'U64', 'UINT32': 'U32', 'UINT16': 'U16', 'INT4': 'I8',
          'BFLOAT16': 'BF16'}


def dump(path):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(['flatc', '--json', '--raw-binary', '--strict-json', '--defaults-json', '-o', tmp, SCHEMA, '--', path], check=True)
        (out,) = os.listdir(tmp)
        return json.load(open(os.path.join(tmp, out)))


def unpack_int4(raw, count):
    out = bytearray()
    for b in raw:
        for n in (b & 15, b >> 4):
            out.append(n if n < 8 else n + 240)
    return bytes(out[:count])


def custom_only(model, sg):
    """Tensor indices that only operators of a named CUSTOM code (builtin 32 with custom_code) take as inputs: left out as their opaque data."""
    custom, builtin = set(), set()
    for op in sg.get('operators', []):
        code = model['operator_codes'][op.get('opcode_index', 0)]
        named = max(code.get('deprecated_builtin_code', 0), code.get('builtin_code', 0)) == 32 and code.get('custom_code') is not None
        for i in op.get('inputs', []):
            if i >= 0:
                (custom if named else builtin).add(i)
    return custom - builtin


def expected(path, mark_sparse=False, densify=None):
    model = dump(path)
    blob = open(path, 'rb').read()
    tensors, taken = {}, set()
    for s, sg in enumerate(model['subgraphs']):
        prefix = '' if s == 0 else (sg.get('name') or str(s)) + '/'
        opaque = custom_only(model, sg)
        for i, t in enumerate(sg.get('tensors', [])):
            if i in opaque:
                continue
            buf = model['buffers'][t.get('buffer', 0)]
            raw = bytes(buf.get('data', []))
            if not raw and int(buf.get('offset', 0)) > 1:
                raw = blob[int(buf['offset']):int(buf['offset']) + int(buf['size'])]
            if not raw or t['type'] not in DTYPES:
                continue
            wanted = prefix + (t.get('name') or f'#{i}')
            name, k = wanted, 2
            while name in taken:
                name, k = f'{wanted}#{k}', k + 1
            taken.add(name)
            shape = t.get('shape', [])
            count = 1
            for d in shape:
                count *= d
            if t['type'] == 'INT4':
                raw = unpack_int4(raw, count)
            e = {'dtype': DTYPES[t['type']], 'shape': shape, 'sha256': hashlib.sha256(raw).hexdigest()}
            if mark_sparse and t.get('sparsity') is not None:
                e['sparse'] = True  # the buffer holds the sparse (compressed) form: its SHA-256 is of that
                if densify is not None:
                    # The dense values, from a reference densifier the caller gives (not tensorsafe's).
                    e['dense_sha256'] = hashlib.sha256(densify(shape, t['sparsity'], raw, DTYPES[t['type']])).hexdigest()
            q = t.get('quantization') or {}
            if q.get('scale'):
                # Counts, the first scale (flatc prints 6 significant digits) and the zero points' sum: small, and enough to tell per-axis from per-tensor.
                zp = q.get('zero_point', [])
                e['quantization'] = {'scales': len(q['scale']), 'first_scale': q['scale'][0], 'zero_points': len(zp), 'zero_point_sum': sum(zp), 'quantized_dimension': q.get('quantized_dimension', 0)}
            tensors[name] = e
    return tensors


if __name__ == '__main__':  # scripts/make-npm-models-expected.py imports expected()
    files = {}
    for dirpath, _, names in os.walk(BASE):
        for n in sorted(names):
            if n.endswith('.tflite'):
                p = os.path.join(dirpath, n)
                files[os.path.relpath(p, CORPUS)] = expected(p)
    flatc = subprocess.run(['flatc', '--version'], capture_output=True, text=True).stdout.strip()
    with open(OUT, 'w') as f:
        json.dump({'producer': flatc, 'files': dict(sorted(files.items()))}, f, indent=0)
        f.write('\n')
