#!/usr/bin/python3
"""HDF5 structure fixtures, written by h5py (Debian python3-h5py) and read back by h5py for the expected values.

Run from the repository root: /usr/bin/python3 scripts/make-hdf5-fixtures.py

test/fixtures/formats/hdf5/<name>.h5 + .expected.json (the data-driven loop of test/formats.test.ts):
every numeric dataset as the tensor named by its path without the leading '/', in the order the reader
lists them (depth first, children by name, every path a hard or soft link gives), with dtype, shape and the
SHA-256 of its little-endian row-major bytes as h5py reads them. Both libver='earliest' (superblock 0,
object header v1, symbol-table groups) and libver='latest' (superblock 3, OHDR, compact and dense links and
attributes). test/fixtures/hdf5/<name>.json: what test/hdf5.test.ts checks besides (left out, attributes); files with a
user block are there too (with their .expected.json), since detection does not look past byte 512.
The storage side (layouts, chunk indexes, filters) has its own fixtures (make-hdf5-storage-fixtures).
"""
import ctypes
import hashlib
import json
import os

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
FORMATS = os.path.join(ROOT, 'formats', 'hdf5')
EXTRA = os.path.join(ROOT, 'hdf5')

DTYPES = {
    'f2': 'F16', 'f4': 'F32', 'f8': 'F64', 'i1': 'I8', 'i2': 'I16', 'i4': 'I32', 'i8': 'I64',
    'u1': 'U8', 'u2': 'U16', 'u4': 'U32', 'u8': 'U64', 'b1': 'BOOL',
}


def numeric(ds):
    return ds.dtype.kind in 'fiub' and ds.dtype.names is None and ds.shape is not None


def walk(f):
    """Tensors (path, dataset, alias target) and left-out paths, as the reader lists them."""
    tensors, left = [], []
    seen_groups = set()

    def visit(group, prefix):
        seen_groups.add(group.id.__hash__())
        for name in sorted(group.keys(), key=lambda n: n.encode()):
            path = f'{prefix}{name}'
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                left.append(path)
                continue
            obj = group.get(name)
            if obj is None:
                left.append(path)  # a dangling soft link
                continue
            if isinstance(obj, h5py.Group):
                if obj.id.__hash__() in seen_groups:
                    continue
                visit(obj, f'{path}/')
            elif isinstance(obj, h5py.Dataset):
                if numeric(obj):
                    tensors.append((path, obj))
                else:
                    left.append(path)
            else:
                left.append(path)  # a committed datatype

    visit(f, '')
    return tensors, left


def expected_tensor(path, ds):
    arr = ds[()]
    arr = np.asarray(arr)
    le = arr.astype(arr.dtype.newbyteorder('<')) if arr.dtype.kind != 'b' else arr.astype(np.uint8)
    row = {
        'name': path,
        'dtype': DTYPES[arr.dtype.kind + str(arr.dtype.itemsize)],
        'shape': list(arr.shape),
        'sha256': hashlib.sha256(np.ascontiguousarray(le).tobytes()).hexdigest(),
    }
    if ds.dtype.byteorder == '>' and ds.dtype.itemsize > 1:
        row['encoding'] = {'layout': 'stored', 'byteSwap': ds.dtype.itemsize}
    return row


def attr_value(v):
    if isinstance(v, bytes):
        return v.decode('utf-8')
    if isinstance(v, str):
        return v
    if isinstance(v, np.ndarray):
        return [attr_value(x) for x in v.tolist()] if v.dtype.kind in 'OSU' else v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def write_expected(name, f, attrs_of=(), folder=FORMATS):
    tensors, left = walk(f)
    with open(os.path.join(folder, f'{name}.h5.expected.json'), 'w') as out:
        json.dump({'format': 'hdf5', 'tensors': [expected_tensor(p, d) for p, d in tensors]}, out, indent=1)
        out.write('\n')
    extra = {'leftOut': left, 'attributes': {}}
    for path in attrs_of:
        obj = f[path] if path != '/' else f
        extra['attributes'][path] = {k: attr_value(obj.attrs[k]) for k in sorted(obj.attrs.keys())}
    with open(os.path.join(EXTRA, f'{name}.json'), 'w') as out:
        json.dump(extra, out, indent=1, sort_keys=True)
        out.write('\n')


def fill_everything(f):
    rng = np.random.default_rng(12)
    num = f.create_group('numbers')
    for code in ['f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8']:
        for order in ('<', '>'):
            if code[1] == '1' and order == '>':
                continue
            dt = np.dtype(order + code)
            if code[0] == 'f':
                values = rng.standard_normal((3, 4)).astype(dt)
            else:
                info = np.iinfo(dt)
                values = rng.integers(info.min, info.max, size=(3, 4), dtype=dt.newbyteorder("="), endpoint=True).astype(dt)
            num.create_dataset(f'{code}{"be" if order == ">" else "le"}', data=values)
    num.create_dataset('bool', data=np.array([[True, False, True], [False, False, True]]))
    num.create_dataset('scalar', data=np.float32(3.5))
    num.create_dataset('empty', data=h5py.Empty('f4'))
    num.create_dataset('zero_rows', data=np.zeros((0, 3), dtype='f4'))
    num.create_dataset('compound', data=np.array([(1, 2.0)], dtype=[('a', 'i4'), ('b', 'f8')]))
    num.create_dataset('text', data=np.array([b'ab', b'cd']))
    num.create_dataset('vlen_text', data=['one', 'two'], dtype=h5py.string_dtype())
    deep = f.create_group('model_weights/dense/dense')
    deep.create_dataset('kernel:0', data=rng.standard_normal((4, 2)).astype('f4'))
    deep.create_dataset('bias:0', data=np.zeros(2, dtype='f4'))
    # Links: a hard link (an alias of the kernel), a soft link, a dangling soft link, an external link, a cycle.
    f['links/hard_kernel'] = deep['kernel:0']
    f['links/soft_bias'] = h5py.SoftLink('/model_weights/dense/dense/bias:0')
    f['links/dangling'] = h5py.SoftLink('/nowhere')
    f['links/external'] = h5py.ExternalLink('other.h5', '/weights')
    f['links/up'] = f['links']  # a group that contains itself
    # Attributes: numbers, fixed and variable strings, arrays of strings (Keras layer_names).
    f.attrs['fixed'] = np.bytes_(b'fixed text')
    f.attrs['vlen'] = 'variable text \u00e9'
    f.attrs['int'] = np.int64(-7)
    f.attrs['floats'] = np.array([0.5, 1.5], dtype='f4')
    f.attrs['names'] = np.array([b'dense', b'dense_1', b'output'])
    f.attrs['vlen_names'] = np.array(['a', 'bb', 'ccc'], dtype=h5py.string_dtype())
    deep.attrs['weight_names'] = np.array([b'dense/kernel:0', b'dense/bias:0'])


def everything(name, libver):
    path = os.path.join(FORMATS, f'{name}.h5')
    with h5py.File(path, 'w', libver=libver) as f:
        fill_everything(f)
    with h5py.File(path, 'r') as f:
        write_expected(name, f, ['/', 'model_weights/dense/dense'])


def many(name, libver, userblock=0):
    """A group of 40 links (symbol table B-tree of several nodes; dense links with latest), 30 attributes and a large one.

    With a user block the file is not detected as HDF5 from its first 512 bytes (the registry's probe), so
    those go to test/fixtures/hdf5 and test/hdf5.test.ts opens them with the reader directly."""
    folder = EXTRA if userblock else FORMATS
    path = os.path.join(folder, f'{name}.h5')
    kw = {'userblock_size': userblock} if userblock else {}
    with h5py.File(path, 'w', libver=libver, **kw) as f:
        g = f.create_group('many')
        for i in range(40):
            g.create_dataset(f'w{i:02d}', data=np.array([i, -i], dtype='i2'))
        for i in range(30):
            g.attrs[f'attr{i:02d}'] = np.int32(i)
        g.attrs['long_names'] = np.array([f'layer_{i:04d}'.encode() for i in range(500)])
        g.attrs['long_text'] = 'x' * 6000
    with h5py.File(path, 'r') as f:
        write_expected(name, f, ['many'], folder)


def track_order(name):
    """Creation order tracked (link and attribute messages carry a creation order field)."""
    path = os.path.join(FORMATS, f'{name}.h5')
    with h5py.File(path, 'w', libver='latest', track_order=True) as f:
        g = f.create_group('ordered', track_order=True)
        for n in ['zeta', 'alpha', 'mid']:
            g.create_dataset(n, data=np.arange(3, dtype='f8'))
            g.attrs[n] = n
    with h5py.File(path, 'r') as f:
        write_expected(name, f, ['ordered'])


def dense_keras_config(name):
    """A root group whose model_config (with a Lambda layer) sits in dense attribute storage, behind 40 other attributes."""
    path = os.path.join(EXTRA, f'{name}.h5')
    config = json.dumps({'class_name': 'Sequential', 'config': {'layers': [
        {'class_name': 'Lambda', 'config': {'name': 'lambda', 'function': ['4wEAAAAAAAAA', None, None]}}]}})
    with h5py.File(path, 'w', libver='latest') as f:
        for i in range(40):
            f.attrs[f'padding{i:02d}'] = np.int32(i)
        f.attrs['model_config'] = config
        f.attrs['keras_version'] = '2.4.0'
        f.create_dataset('w', data=np.ones(2, dtype='f4'))
    with h5py.File(path, 'r') as f:
        write_expected(name, f, ['/'], EXTRA)


def types(name):
    """A committed (named) datatype and a dataset that uses it (a shared datatype message), a non-bool enum, attributes that are not decoded."""
    path = os.path.join(FORMATS, f'{name}.h5')
    with h5py.File(path, 'w', libver='earliest') as f:
        f['named_f4'] = np.dtype('>f4')
        f.create_dataset('uses_named', data=np.arange(4, dtype='>f4'), dtype=f['named_f4'])
        colors = h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 2}, basetype='i2')
        f.create_dataset('colors', data=np.array([0, 2, 1], dtype='i2'), dtype=colors)
        f.attrs.create('compound', np.array([(1, 2.0)], dtype=[('a', 'i4'), ('b', 'f8')]))
        f.attrs['empty'] = h5py.Empty('f4')
        f.attrs['bools'] = np.array([True, False])
        f.attrs['f2'] = np.array([1.5, -2.0], dtype='>f2')
    with h5py.File(path, 'r') as f:
        write_expected(name, f)


def deep_symbol_table(name):
    """An old-style group of 600 soft links (cheap: a name and a path in the local heap each): a group B-tree of more than one level."""
    path = os.path.join(EXTRA, f'{name}.h5')
    with h5py.File(path, 'w', libver='earliest') as f:
        g = f.create_group('g')
        g.create_dataset('data', data=np.arange(3, dtype='u2'))
        for i in range(600):
            g[f'link{i:03d}'] = h5py.SoftLink('/g/data' if i % 100 == 0 else f'/missing{i}')
    with h5py.File(path, 'r') as f:
        write_expected(name, f, [], EXTRA)


def keras_lookalikes():
    """Plain HDF5 files whose head shows what Keras detection looks for (datasets named `layers` and `vars`; an
    attribute whose text holds `layer_names`): no Keras layout, so read as HDF5 (test/keras.test.ts)."""
    path = os.path.join(EXTRA, 'keras-lookalike-links.h5')
    with h5py.File(path, 'w', libver='earliest') as f:
        f.create_dataset('layers', data=np.arange(3, dtype='f4'))
        f.create_dataset('vars', data=np.arange(2, dtype='<i2'))
    with h5py.File(path, 'r') as f:
        write_expected('keras-lookalike-links', f, [], EXTRA)
    path = os.path.join(EXTRA, 'keras-lookalike-attr.h5')
    with h5py.File(path, 'w', libver='latest') as f:
        f.attrs['description'] = 'columns: layer_names, depth'
        f.create_dataset('x', data=np.arange(3, dtype='>f8'))
    with h5py.File(path, 'r') as f:
        write_expected('keras-lookalike-attr', f, ['/'], EXTRA)


def deflate_chunks(name):
    """Chunks of odd shapes, deflated at level 9, with shuffle and fletcher32: the data test/hdf5-fuzz.test.ts
    damages (a bad chunk must fail while streaming with a coded error)."""
    path = os.path.join(EXTRA, f'{name}.h5')
    rng = np.random.default_rng(12)
    with h5py.File(path, 'w', libver='earliest') as f:
        f.create_dataset('a', data=rng.random((37, 53)).astype('f4'), chunks=(7, 11), compression='gzip', compression_opts=9)
        f.create_dataset('b', data=np.arange(1000, dtype='>i8').reshape(10, 10, 10), chunks=(3, 4, 5), shuffle=True, fletcher32=True, compression='gzip')
    with h5py.File(path, 'r') as f:
        write_expected(name, f, [], EXTRA)


# H5Pset_istore_k and the shared-message (SOHM) settings are not in h5py: called in the HDF5 library h5py is linked with.
HDF5_LIB = ctypes.CDLL('libhdf5_serial.so.103')
H5O_SHMESG_ALL_FLAG = 0x01 | 0x02 | 0x04 | 0x08 | 0x10  # dataspace, datatype, fill value, filter pipeline, attribute


def with_fcpl(path, fcpl, libver, fill):
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(*{'earliest': (h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST), 'latest': (h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)}[libver])
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    with h5py.File(fid) as f:
        fill(f)


def superblock_v1(name):
    """Superblock version 1: written when the chunk B-tree's K is not the default (H5Pset_istore_k)."""
    path = os.path.join(FORMATS, f'{name}.h5')
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    assert HDF5_LIB.H5Pset_istore_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(64)) >= 0

    def fill(f):
        f.create_dataset('w', data=np.arange(6, dtype='f4').reshape(2, 3))
        f.attrs['note'] = 'superblock 1'
    with_fcpl(path, fcpl, 'earliest', fill)
    with h5py.File(path, 'r') as f:
        write_expected(name, f, ['/'])


def shared_messages(name):
    """Datatypes, dataspaces and attributes kept in the file's shared-message heap (SOHM): refused by name."""
    path = os.path.join(FORMATS, f'{name}.h5')
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    assert HDF5_LIB.H5Pset_shared_mesg_nindexes(ctypes.c_int64(fcpl.id), ctypes.c_uint(1)) >= 0
    assert HDF5_LIB.H5Pset_shared_mesg_index(ctypes.c_int64(fcpl.id), ctypes.c_uint(0), ctypes.c_uint(H5O_SHMESG_ALL_FLAG), ctypes.c_uint(1)) >= 0

    def fill(f):
        for i in range(3):
            f.create_dataset(f'w{i}', data=np.arange(4, dtype='f4'))
    with_fcpl(path, fcpl, 'latest', fill)
    with open(os.path.join(FORMATS, f'{name}.h5.expected.json'), 'w') as out:
        json.dump({'format': 'hdf5', 'error': 'Hdf5Unsupported'}, out, indent=1)
        out.write('\n')


def main():
    os.makedirs(FORMATS, exist_ok=True)
    os.makedirs(EXTRA, exist_ok=True)
    everything('everything-earliest', 'earliest')
    everything('everything-latest', 'latest')
    everything('everything-v108', 'v108')
    many('many-earliest', 'earliest')
    many('many-latest', 'latest')
    many('userblock-512', 'earliest', 512)
    many('userblock-1024-latest', 'latest', 1024)
    track_order('track-order')
    dense_keras_config('dense-keras-config')
    types('types')
    deep_symbol_table('deep-symbol-table')
    superblock_v1('superblock-v1')
    shared_messages('shared-messages')
    keras_lookalikes()
    deflate_chunks('deflate-chunks')


if __name__ == '__main__':
    main()
