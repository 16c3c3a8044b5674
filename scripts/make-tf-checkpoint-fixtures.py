#!/usr/bin/python3
"""TensorFlow checkpoint fixtures for tensorsafe (test/fixtures/formats/tf-checkpoint, test/fixtures/tf-checkpoint).

The index tables are written by libleveldb's own TableBuilder (tf-checkpoint-fixtures/table_writer.cc,
compiled here with g++ -lleveldb: no compression and Snappy, TensorFlow's restart interval of 16, small
blocks so that indexes hold several), the entries and SavedModels with protoc-generated classes of
TensorFlow's protos (tf-checkpoint-fixtures/tf_subset.proto), the tensor bytes and the expected values
(sha256 of each tensor's row-major little-endian bytes) with numpy. The CRC-32C here is a plain bitwise
one, written for this script. Run with /usr/bin/python3 (numpy, protobuf); needs protoc, g++, libleveldb-dev.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FORMAT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'formats', 'tf-checkpoint')
OWN_DIR = os.path.join(ROOT, 'test', 'fixtures', 'tf-checkpoint')
WORK = tempfile.mkdtemp(prefix='tf-fixtures-')
subprocess.run(['protoc', f'--python_out={WORK}', '-I', os.path.join(HERE, 'tf-checkpoint-fixtures'), 'tf_subset.proto'], check=True)
subprocess.run(['g++', '-O1', '-o', os.path.join(WORK, 'table_writer'), os.path.join(HERE, 'tf-checkpoint-fixtures', 'table_writer.cc'), '-lleveldb'], check=True)
sys.path.insert(0, WORK)
import tf_subset_pb2 as pb  # noqa: E402

# ---- CRC-32C (bitwise) and TensorFlow's mask
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

assert crc32c(b'123456789') == 0xE3069283

def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

# ---- OrderedCode slice keys (tensorflow/core/util/saved_tensor_slice_util.cc EncodeTensorNameSlice)
def num_increasing(v):
    b = v.to_bytes((v.bit_length() + 7) // 8, 'big') if v else b''
    return bytes([len(b)]) + b

HEADER = [(0, 0), (0x80, 0), (0xc0, 0), (0xe0, 0), (0xf0, 0), (0xf8, 0), (0xfc, 0), (0xfe, 0), (0xff, 0), (0xff, 0x80), (0xff, 0xc0)]

def signed_num_increasing(v):
    x = ~v if v < 0 else v
    n = min(10, x.bit_length() // 7 + 1)
    b = bytearray((v & ((1 << (8 * n)) - 1)).to_bytes(n, 'big'))
    b[0] ^= HEADER[n][0]
    if n > 1:
        b[1] ^= HEADER[n][1]
    return bytes(b)

def ordered_string(s):
    return s.replace(b'\x00', b'\x00\xff').replace(b'\xff', b'\xff\x00') + b'\x00\x01'

def slice_key(name, extents):
    out = num_increasing(0) + ordered_string(name.encode()) + num_increasing(len(extents))
    for start, length in extents:
        if length is None:
            start, length = 0, -1
        out += signed_num_increasing(start) + signed_num_increasing(length)
    return out

assert signed_num_increasing(0) == b'\x80' and signed_num_increasing(-1) == b'\x7f' and signed_num_increasing(64) == b'\xc0\x40'

# ---- dtypes: TF DataType, safetensors dtype, numpy dtype (None: raw bits given)
DT = {
    'F32': (1, np.float32), 'F64': (2, np.float64), 'I32': (3, np.int32), 'U8': (4, np.uint8), 'I16': (5, np.int16),
    'I8': (6, np.int8), 'C64': (8, np.complex64), 'I64': (9, np.int64), 'BOOL': (10, np.bool_), 'BF16': (14, np.uint16),
    'U16': (17, np.uint16), 'F16': (19, np.float16), 'U32': (22, np.uint32), 'U64': (23, np.uint64),
}

def sample(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    if dtype in ('F32', 'F64', 'F16'):
        a = rng.standard_normal(n).astype(DT[dtype][1])
        if n > 2:
            a[0] = -0.0; a[1] = np.inf
    elif dtype == 'C64':
        a = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    elif dtype == 'BF16':
        a = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    elif dtype == 'BOOL':
        a = rng.integers(0, 2, n).astype(np.bool_)
    else:
        info = np.iinfo(DT[dtype][1])
        a = rng.integers(info.min, info.max, n, dtype=DT[dtype][1], endpoint=True)
    return a.reshape(shape)

def swap_unit(dtype):
    return {'C64': 4, 'F64': 8, 'I64': 8, 'U64': 8, 'F32': 4, 'I32': 4, 'U32': 4, 'I16': 2, 'U16': 2, 'F16': 2, 'BF16': 2}.get(dtype)

def le_bytes(a):
    return a.astype(a.dtype.newbyteorder('<'), copy=False).tobytes()

def shape_proto(shape):
    s = pb.TensorShapeProto()
    for d in shape:
        s.dim.add().size = d
    return s

def string_tensor_bytes(values, big=False):
    """A string tensor as tensor_bundle.cc WriteStringTensor writes it, and its CRC-32C."""
    lengths = b''
    crc = 0
    for v in values:
        n = len(v)
        while True:
            b = n & 0x7f
            n >>= 7
            lengths += bytes([b | (0x80 if n else 0)])
            if not n:
                break
        crc = crc32c(struct.pack('>I' if big else '<I', len(v)), crc)
    cks = struct.pack('<I', mask(crc))
    crc = crc32c(cks, crc)
    body = b''.join(values)
    crc = crc32c(body, crc)
    return lengths + cks + body, crc

class Bundle:
    """A tensor bundle: entries by key, data appended to its shards."""
    def __init__(self, shards=1, big=False):
        self.shards = [bytearray() for _ in range(shards)]
        self.entries = {}
        self.big = big
        self.expected = []

    def add_bytes(self, key, dtype_enum, shape, data, shard=0, crc=None, slices=None):
        e = pb.BundleEntryProto(dtype=dtype_enum, shape=shape_proto(shape), shard_id=shard, offset=len(self.shards[shard]), size=len(data))
        e.crc32c = mask(crc32c(data) if crc is None else crc)
        self.shards[shard] += data
        self.entries[key if isinstance(key, bytes) else key.encode()] = e.SerializeToString()

    def add(self, key, dtype, array, shard=0, name=None, expect=True):
        data = array.astype(array.dtype.newbyteorder('>'), copy=False).tobytes() if self.big else le_bytes(array)
        self.add_bytes(key, DT[dtype][0], list(array.shape), data, shard)
        if expect:
            enc = {'layout': 'stored'}
            if self.big and swap_unit(dtype):
                enc['byteSwap'] = swap_unit(dtype)
            self.expected.append((key, {'name': name or key, 'dtype': dtype, 'shape': list(array.shape), 'sha256': hashlib.sha256(le_bytes(array)).hexdigest(), 'encoding': enc}))

    def add_partitioned(self, key, dtype, array, slices, shard_of=lambda i: 0, name=None):
        full = pb.BundleEntryProto(dtype=DT[dtype][0], shape=shape_proto(list(array.shape)))
        for i, extents in enumerate(slices):
            sp = full.slices.add()
            for start, length in extents:
                ext = sp.extent.add()
                if length is not None:
                    ext.start = start
                    ext.length = length
            index = tuple(slice(0, None) if length is None else slice(start, start + length) for start, length in extents)
            part = np.ascontiguousarray(array[index])
            self.add_bytes(slice_key(key, extents), DT[dtype][0], list(part.shape), le_bytes(part), shard_of(i))
        self.entries[key.encode()] = full.SerializeToString()
        self.expected.append((key, {'name': name or key, 'dtype': dtype, 'shape': list(array.shape), 'sha256': hashlib.sha256(le_bytes(array)).hexdigest(), 'encoding': {'layout': 'decoded', 'decoder': 'tf-partitioned-slices'}}))

    def add_object_graph(self, keys):
        g = pb.TrackableObjectGraph()
        root = g.nodes.add()
        for i, k in enumerate(keys):
            child = root.children.add()
            child.node_id = i + 1
            child.local_name = k.split('/')[0]
            node = g.nodes.add()
            a = node.attributes.add()
            a.name = 'VARIABLE_VALUE'
            a.full_name = k
            a.checkpoint_key = k
        data, crc = string_tensor_bytes([g.SerializeToString()], self.big)
        self.add_bytes('_CHECKPOINTABLE_OBJECT_GRAPH', 7, [], data, crc=crc)

    def write(self, directory, prefix, compression=0, block_size=256, header_override=None):
        os.makedirs(os.path.join(directory, os.path.dirname(prefix)), exist_ok=True)
        header = pb.BundleHeaderProto(num_shards=len(self.shards), endianness=1 if self.big else 0)
        header.version.producer = 1
        self.entries[b''] = header_override if header_override is not None else header.SerializeToString()
        stream = b''.join(struct.pack('<I', len(k)) + k + struct.pack('<I', len(v)) + v for k, v in sorted(self.entries.items()))
        index = os.path.join(directory, prefix + '.index')
        subprocess.run([os.path.join(WORK, 'table_writer'), index, str(compression), str(block_size), '16'], input=stream, check=True)
        parts = []
        for i, data in enumerate(self.shards):
            name = f'{prefix}.data-{i:05d}-of-{len(self.shards):05d}'
            with open(os.path.join(directory, name), 'wb') as f:
                f.write(data)
            parts.append(name)
        return index, parts

    def tensors(self):
        return [t for _, t in sorted(self.expected, key=lambda kt: kt[0].encode())]

def write_expected(path, exercises, tensors=None, error=None, parts=()):
    doc = {'format': 'tf-checkpoint', 'producer': 'libleveldb TableBuilder + protoc (scripts/make-tf-checkpoint-fixtures.py)', 'exercises': exercises}
    if parts:
        doc['parts'] = list(parts)
    if error:
        doc['error'] = error
    else:
        doc['tensors'] = tensors
    with open(path + '.expected.json', 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')

def leveldb_types(index):
    """Compression types of the table's blocks, read from each data block's trailer via the index block."""
    data = open(index, 'rb').read()
    return data

for d in (FORMAT_DIR, OWN_DIR):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

V = '/.ATTRIBUTES/VARIABLE_VALUE'

# 1. every dtype, TF2 keys, object graph, strings/resources, optimizer slots and the save counter left out
b = Bundle()
keys = []
for i, dt in enumerate(DT):
    key = f'model/layer-{i}/w_{dt.lower()}{V}'
    keys.append(key)
    b.add(key, dt, sample(dt, [3, 5] if i % 2 else [7], i), name=key[:-len(V)])
b.add('model/scalar' + V, 'F32', np.array(2.5, dtype=np.float32), name='model/scalar')
b.add('model/empty' + V, 'F32', np.zeros((0, 3), dtype=np.float32), name='model/empty')
b.add('model/layer-0/w_f32/.OPTIMIZER_SLOT/optimizer/m' + V, 'F32', sample('F32', [7], 99), expect=False)
b.add('optimizer/iter' + V, 'I64', np.array(5, dtype=np.int64), expect=False)
b.add('save_counter' + V, 'I64', np.array(1, dtype=np.int64), expect=False)
data, crc = string_tensor_bytes([b'hello', b'world!'])
b.add_bytes('model/vocab/.ATTRIBUTES/VARIABLE_VALUE', 7, [2], data, crc=crc)
b.add_bytes('model/handle' + V, 20, [], b'\x00' * 8)
b.add_object_graph(keys)
index, parts = b.write(FORMAT_DIR, 'dtypes')
write_expected(index, 'every dtype safetensors holds (F32 F64 F16 BF16 I8 I16 I32 I64 U8 U16 U32 U64 BOOL C64), TF2 keys named without /.ATTRIBUTES/VARIABLE_VALUE, a scalar and an empty tensor, several data blocks; a string and a resource tensor, an optimizer slot, the optimizer and the save counter left out; the object graph read', b.tensors(), parts=parts)

# 2. three data shards
b = Bundle(shards=3)
for i in range(6):
    b.add(f'dense_{i}/kernel', 'F32', sample('F32', [4, 3], 10 + i), shard=i % 3)
b.add('dense_0/kernel/Adam', 'F32', sample('F32', [4, 3], 20), shard=1, expect=False)
b.add('dense_0/kernel/Adam_1', 'F32', sample('F32', [4, 3], 21), shard=2, expect=False)
b.add('beta1_power', 'F32', np.array(0.9, dtype=np.float32), expect=False)
b.add('global_step', 'I64', np.array(1000, dtype=np.int64), expect=False)
index, parts = b.write(FORMAT_DIR, 'model.ckpt-1000')
write_expected(index, 'a TF1-style checkpoint (model.ckpt-1000.index) of three data shards; the Adam slots, beta1_power and global_step left out', b.tensors(), parts=parts)

# 3. big-endian
b = Bundle(big=True)
for i, dt in enumerate(['F32', 'F64', 'F16', 'BF16', 'I16', 'I32', 'I64', 'U16', 'U32', 'U64', 'C64', 'U8', 'BOOL']):
    b.add(f'v/{dt.lower()}', dt, sample(dt, [2, 3], 40 + i))
index, parts = b.write(FORMAT_DIR, 'big-endian')
write_expected(index, 'a big-endian bundle (endianness BIG): every tensor swapped to little-endian (C64 by its float halves)', b.tensors(), parts=parts)

# 4. partitioned variables
b = Bundle(shards=2)
b.add_partitioned('part/rows', 'F32', sample('F32', [6, 4], 60), [[(0, 2), (0, None)], [(2, 3), (0, None)], [(5, 1), (0, None)]], shard_of=lambda i: i % 2)
b.add_partitioned('part/cols', 'I64', sample('I64', [4, 6], 61), [[(0, None), (0, 4)], [(0, None), (4, 2)]])
b.add_partitioned('part/grid', 'F16', sample('F16', [3, 130], 62), [[(0, 1), (0, 70)], [(0, 1), (70, 60)], [(1, 2), (0, 130)]])
b.add('plain', 'F32', sample('F32', [3], 63))
index, parts = b.write(FORMAT_DIR, 'partitioned')
write_expected(index, 'partitioned variables (TensorSliceProto slices, keyed by EncodeTensorNameSlice, a start past 64 needing two-byte ordered codes) assembled, across two shards', b.tensors(), parts=parts)

# 5. Snappy-compressed blocks
b = Bundle()
for i in range(40):
    b.add(f'encoder/layer_{i:02d}/attention/kernel{V}', 'F32', sample('F32', [2, 2], 80 + i), name=f'encoder/layer_{i:02d}/attention/kernel')
index, parts = b.write(FORMAT_DIR, 'snappy', compression=1, block_size=4096)
raw = open(index, 'rb').read()
write_expected(index, 'a table whose blocks are Snappy-compressed (libleveldb kSnappyCompression)', b.tensors(), parts=parts)

# 6. a name collision: a TF1 key `a` beside the TF2 key `a/.ATTRIBUTES/VARIABLE_VALUE`
b = Bundle()
b.add('a', 'F32', sample('F32', [2], 90))
b.add('a' + V, 'F32', sample('F32', [2], 91))
b.add('b' + V, 'F32', sample('F32', [2], 92), name='b')
index, parts = b.write(FORMAT_DIR, 'collision')
write_expected(index, 'a TF2 key whose short name is another key: it keeps its whole key', b.tensors(), parts=parts)

# 7. a missing data shard, a damaged block
b = Bundle(shards=2)
b.add('x', 'F32', sample('F32', [2], 93), shard=1)
index, parts = b.write(FORMAT_DIR, 'missing-shard')
os.remove(os.path.join(FORMAT_DIR, parts[1]))
write_expected(index, 'a data shard missing from the folder', error='TfCheckpointFileMissing', parts=parts[:1])

b = Bundle()
b.add('x', 'F32', sample('F32', [8], 94))
index, parts = b.write(FORMAT_DIR, 'bad-block-crc')
raw = bytearray(open(index, 'rb').read())
raw[12] ^= 0x01  # inside the first data block: its trailer's CRC no longer matches
open(index, 'wb').write(raw)
write_expected(index, "a data block changed after it was written: its trailer's CRC-32C does not match", error='InvalidTfCheckpoint', parts=parts)

# 8. a SavedModel (saved_model.pb + variables/)
def saved_model(directory, nodes=(), functions=(), assets=(), user_metadata=(), variables=True):
    m = pb.SavedModel(saved_model_schema_version=1)
    g = m.meta_graphs.add()
    g.meta_info_def.tags.append('serve')
    g.meta_info_def.tensorflow_version = '2.15.0'
    for name, op, attrs in nodes:
        n = g.graph_def.node.add(name=name, op=op)
        for k, v in attrs.items():
            n.attr[k].s = v
    for fname, fnodes in functions:
        f = g.graph_def.library.function.add()
        f.signature.name = fname
        for name, op, *calls in fnodes:
            n = f.node_def.add(name=name, op=op)
            for callee in calls:
                n.attr['f'].func.name = callee
    for md in user_metadata:
        g.object_graph_def.nodes.add().user_object.CopyFrom(pb.SavedUserObject(identifier='_tf_keras_layer', metadata=md))
    for a in assets:
        g.asset_file_def.add(filename=a)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'saved_model.pb'), 'wb') as f:
        f.write(m.SerializeToString())
    if variables:
        vb = Bundle()
        vb.add('dense/kernel' + V, 'F32', sample('F32', [3, 2], 95), name='dense/kernel')
        vb.add('dense/bias' + V, 'F32', sample('F32', [2], 96), name='dense/bias')
        vb.add_object_graph(['dense/kernel' + V, 'dense/bias' + V])
        _, vparts = vb.write(directory, 'variables/variables')
        return vb, vparts
    return None, []

SAVER = [('__inference__traced_save_61', [('SaveV2', 'SaveV2'), ('MergeV2Checkpoints', 'MergeV2Checkpoints')]), ('__inference__traced_restore_77', [('RestoreV2', 'RestoreV2')])]
vb, vparts = saved_model(FORMAT_DIR, nodes=[('x', 'Placeholder', {}), ('y', 'MatMul', {})], functions=SAVER)
write_expected(os.path.join(FORMAT_DIR, 'saved_model.pb'), 'a SavedModel: saved_model.pb read as data (the saver functions are info), its variables/variables bundle read', vb.tensors(), parts=['variables/variables.index'] + vparts)

# ---- the reader's own tests (test/tf-checkpoint.test.ts)
b = Bundle()
good = sample('F32', [16], 97)
b.add('x', 'F32', good)
index, parts = b.write(OWN_DIR, 'bad-data-crc')
data = bytearray(open(os.path.join(OWN_DIR, parts[0]), 'rb').read())
data[5] ^= 0x40
open(os.path.join(OWN_DIR, parts[0]), 'wb').write(data)

b = Bundle()
b.add('x', 'F32', sample('F32', [4], 98))
index, parts = b.write(OWN_DIR, 'truncated')
raw = open(index, 'rb').read()
open(index, 'wb').write(raw[:-10])

DANGEROUS = {
    'read-file': dict(nodes=[('contents', 'ReadFile', {}), ('name', 'Const', {})]),
    'write-file': dict(functions=[('__inference_leak_5', [('w', 'WriteFile')])]),
    'py-func': dict(nodes=[('f', 'PyFunc', {'token': b'pyfunc_0'})]),
    'eager-py-func': dict(functions=[('__inference_call_9', [('f', 'EagerPyFunc')])]),
    'save-outside-saver': dict(nodes=[('dump', 'SaveV2', {})]),
    'debug-url': dict(nodes=[('d', 'DebugIdentity', {'debug_urls': b'file:///tmp/leak'})]),
    'asset-escape': dict(assets=['../../etc/passwd']),
    'matching-files': dict(nodes=[('m', 'MatchingFiles', {})]),
    'safe-saver': dict(functions=SAVER),
    # tf.keras revives a Lambda layer from its SavedUserObject metadata (marshalled bytecode, base64)
    'keras-lambda': dict(user_metadata=[json.dumps({'class_name': 'Lambda', 'config': {'name': 'lam', 'function': ['4wEAAAAAAAAA', None, None], 'function_type': 'lambda'}})]),
    # a function named like the saver's, called by a signature with its own file prefix
    'saver-called-by-function': dict(functions=SAVER + [('__inference_signature_wrapper_3', [('c', 'StatefulPartitionedCall', '__inference__traced_restore_77')])]),
}
for name, kw in DANGEROUS.items():
    saved_model(os.path.join(OWN_DIR, name), **kw)

shutil.rmtree(WORK)
print('written', FORMAT_DIR, OWN_DIR)
