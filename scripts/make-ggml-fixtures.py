#!/usr/bin/env python3
"""Writes test/fixtures/formats/ggml/: small legacy GGML files (the magics llama.cpp wrote before GGUF:
'ggml' unversioned, 'ggmf' v1, 'ggjt' v1-v3), each beside its .expected.json (tensors as safetensors
holds them: shapes reversed, row-major, little-endian; sha256 of those bytes), or the error code
opening it must give.

The layout is llama.cpp's of 2023, as its convert_llama_ggml_to_gguf.py still reads it: magic u32,
version u32 (not in 'ggml'), hparams n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype (u32),
n_vocab x (length u32, bytes, score f32 (not in 'ggml')), then tensors to the end of the file:
n_dims u32, name length u32, ggml type u32, ne u32 x n_dims (innermost first), name, in 'ggjt'
zero padding to a multiple of 32 bytes of the file, data.

Cross-check (development only, not needed to run the tests): with --check, each readable fixture is
converted to GGUF by llama.cpp's convert_llama_ggml_to_gguf.py and read back by gguf-py's GGUFReader;
its tensors' shapes and bytes must be the ones in the .expected.json, so the layout written here is the
one llama.cpp reads:
  PYTHONPATH=/work/wt/nlc/llama.cpp/gguf-py /usr/bin/python3 scripts/make-ggml-fixtures.py --check /work/wt/nlc/llama.cpp

Run: python3 scripts/make-ggml-fixtures.py (deterministic: a fixed seed).
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'formats', 'ggml')
MAGIC = {'ggml': b'lmgg', 'ggmf': b'fmgg', 'ggjt': b'tjgg'}
TYPE = {'float32': 0, 'float16': 1}
rng = np.random.default_rng(1123)

VOCAB = [b'<unk>', b'<s>', b'</s>', b' the', b'\xe2\x96\x81a', b'b']
N_EMBD = 8


def ggml_file(magic, version, tensors, ftype=1, vocab=VOCAB, hparams=None):
    """tensors: [(name, array or (ggml type id, ne, raw bytes))]; numpy arrays are written row-major,
    their ne the reversed shape."""
    out = bytearray(MAGIC[magic])
    if magic != 'ggml':
        out += struct.pack('<I', version)
    hp = hparams if hparams is not None else [len(vocab), N_EMBD, 256, 2, 1, 4, ftype]
    out += struct.pack('<7I', *hp)
    for i, tok in enumerate(vocab):
        out += struct.pack('<I', len(tok)) + tok
        if magic != 'ggml':
            out += struct.pack('<f', -float(i))
    for name, t in tensors:
        if isinstance(t, np.ndarray):
            tid, ne, data = TYPE[t.dtype.name], list(reversed(t.shape)), t.astype(t.dtype.newbyteorder('<')).tobytes()
        else:
            tid, ne, data = t
        nb = name.encode('utf-8')
        out += struct.pack('<3I', len(ne), len(nb), tid) + struct.pack(f'<{len(ne)}I', *ne) + nb
        if magic == 'ggjt':
            out += bytes(-len(out) % 32)
        out += data
    return bytes(out)


def llama_tensors():
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    f16 = lambda *s: rng.standard_normal(s).astype(np.float16)
    return [
        ('tok_embeddings.weight', f16(len(VOCAB), N_EMBD)),
        ('norm.weight', f32(N_EMBD)),
        ('output.weight', f16(len(VOCAB), N_EMBD)),
        ('layers.0.attention_norm.weight', f32(N_EMBD)),
        ('layers.0.attention.wq.weight', f16(N_EMBD, N_EMBD)),
        ('layers.0.feed_forward.w1.weight', f32(16, N_EMBD)),
        ('layers.0.feed_forward.w2.weight', f16(N_EMBD, 16)),
    ]


def expected_tensors(tensors):
    return [
        {
            'name': name,
            'dtype': {'float32': 'F32', 'float16': 'F16'}[a.dtype.name],
            'shape': list(a.shape),
            'sha256': hashlib.sha256(a.astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest(),
            'encoding': {'layout': 'stored'},
        }
        for name, a in tensors
    ]


def q_block_tensor(name, type_id, block, block_bytes, rows):
    """A quantized tensor: ne = (block, rows), random block bytes (the reader refuses it before any is read)."""
    return (name, (type_id, [block, rows], rng.integers(0, 256, rows * block_bytes, dtype=np.uint8).tobytes()))


def write(name, data, expected):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    with open(os.path.join(OUT, name + '.expected.json'), 'w') as f:
        json.dump({'format': 'ggml', 'producer': 'scripts/make-ggml-fixtures.py (llama.cpp legacy layout), numpy ' + np.__version__, **expected}, f, indent=1)
        f.write('\n')


def main():
    os.makedirs(OUT, exist_ok=True)
    readable = []
    for magic, version, file, ftype in [('ggjt', 3, 'ggjt-v3-f16.bin', 1), ('ggjt', 1, 'ggjt-v1-f16.bin', 1), ('ggmf', 1, 'ggmf-v1-f16.bin', 1), ('ggml', None, 'ggml-unversioned-f16.bin', 1)]:
        tensors = llama_tensors()
        write(file, ggml_file(magic, version, tensors, ftype), {'exercises': f'{magic} {"v" + str(version) if version else "(unversioned)"}: F32 and F16 tensors, llama layout', 'tensors': expected_tensors(tensors)})
        readable.append((file, tensors))
    f32 = [(n, a.astype(np.float32)) for n, a in llama_tensors()]
    write('ggjt-v3-all-f32.bin', ggml_file('ggjt', 3, f32, 0), {'exercises': 'ggjt v3, ALL_F32', 'tensors': expected_tensors(f32)})
    readable.append(('ggjt-v3-all-f32.bin', f32))

    base = llama_tensors()[:2]
    q4 = base + [q_block_tensor('layers.0.attention.wq.weight', 2, 32, 18, 4)]
    write('refused-ggjt-v3-q4_0.bin', ggml_file('ggjt', 3, q4, 2), {'exercises': 'ggjt v3 Q4_0 blocks: refused, naming the tensor, type and version', 'error': 'UnsupportedTensor'})
    q8 = base + [q_block_tensor('layers.0.attention.wq.weight', 8, 32, 36, 4)]
    write('refused-ggjt-v2-q8_0.bin', ggml_file('ggjt', 2, q8, 7), {'exercises': 'ggjt v2 Q8_0 blocks (older layout): refused, the walk stops at them', 'error': 'UnsupportedTensor'})

    good = ggml_file('ggjt', 3, llama_tensors(), 1)
    write('truncated.bin', good[: len(good) - 7], {'exercises': 'the last tensor cut short', 'error': 'InvalidGgml'})
    # ggml's gpt-j example: 'ggml' magic, hparams n_vocab, n_ctx, n_embd, n_head, n_layer, n_rot, ftype,
    # then a vocabulary count of its own and (length, bytes) entries: not the llama layout.
    gptj = bytearray(MAGIC['ggml']) + struct.pack('<7I', 6, 2048, 8, 2, 1, 4, 1) + struct.pack('<I', 6)
    for tok in VOCAB:
        gptj += struct.pack('<I', len(tok)) + tok
    for name, a in llama_tensors()[:3]:
        nb = name.encode()
        gptj += struct.pack('<3I', a.ndim, len(nb), TYPE[a.dtype.name]) + struct.pack(f'<{a.ndim}I', *reversed(a.shape)) + nb + a.tobytes()
    write('refused-gptj-layout.bin', bytes(gptj), {'exercises': "ggml's gpt-j hparams (one more field): the tensor walk does not fit the file", 'error': 'InvalidGgml'})
    many = bytearray(MAGIC['ggjt']) + struct.pack('<I', 3) + struct.pack('<7I', 5_000_000, 8, 256, 2, 1, 4, 1)
    write('vocab-limit.bin', bytes(many), {'exercises': 'n_vocab past MAX_GGML_VOCAB', 'error': 'GgmlLimit'})

    if len(sys.argv) > 2 and sys.argv[1] == '--check':
        check(sys.argv[2], readable)


def check(llama_dir, readable):
    """Converts each readable fixture with llama.cpp's convert_llama_ggml_to_gguf.py; compares with gguf-py."""
    import gguf
    for file, tensors in readable:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, 'out.gguf')
            subprocess.run([sys.executable, os.path.join(llama_dir, 'convert_llama_ggml_to_gguf.py'), '--input', os.path.join(OUT, file), '--output', out], check=True, capture_output=True)
            reader = gguf.GGUFReader(out)
            # The converter hands ne to GGUFWriter as a byte shape (uint8 data with raw_dtype), which
            # divides the innermost dimension by the type's size (so gguf-py sees a fraction of each
            # tensor): compare ne[0] in bytes, the rest as is, and the whole data as written in the file.
            got = {t.name: (tuple(int(x) for x in t.shape), int(t.data_offset)) for t in reader.tensors}
            for name, a in tensors:
                ne, data = tuple(reversed(a.shape)), a.tobytes()
                match = [g for g, (gne, at) in got.items() if bytes(reader.data[at:at + len(data)]) == data and gne[0] * a.itemsize == ne[0] and gne[1:] == ne[1:]]
                assert match, f'{file}: {name} not found in llama.cpp conversion'
                del got[match[0]]
            assert not got, got
            tokens = [bytes(reader.fields['tokenizer.ggml.tokens'].parts[i]) for i in reader.fields['tokenizer.ggml.tokens'].data]
            assert len(tokens) == len(VOCAB), tokens
            print(f'{file}: {len(tensors)} tensors equal to llama.cpp convert_llama_ggml_to_gguf.py output')


if __name__ == '__main__':
    main()
