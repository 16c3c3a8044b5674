#!/usr/bin/python3
"""HDF5 storage fixtures (layouts, chunk indexes, filters), written by h5py (Debian python3-h5py).

Run from the repository root: /usr/bin/python3 scripts/make-hdf5-storage-fixtures.py

test/fixtures/hdf5/storage/<name>.h5 + <name>.json. Each dataset is listed with what test/hdf5-storage.test.ts
needs and checks: its object header's address, shape, maximum shape, element size, the layout class h5py's
dataset creation property list reports, the chunk index the dataset is made to use (the test reads the layout
message and checks it is that one), how many chunks HDF5 allocated (DatasetID.get_num_chunks), and the SHA-256
of its row-major little-endian bytes as h5py reads them. Datasets with a filter the reader refuses (lzf,
scaleoffset) are listed with the filter the refusal must name instead of a hash.

Which index HDF5 picks (H5D__layout_set_latest_indexing, libver='latest'): single chunk when the maximum shape
is one chunk; implicit for early allocation, no filters, no unlimited dimension; fixed array for no unlimited
dimension; extensible array for exactly one unlimited dimension; v2 B-tree for more. libver='earliest' always
writes the v1 B-tree (layout message version 3).
"""
import hashlib
import json
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'hdf5', 'storage')
LAYOUTS = {h5py.h5d.COMPACT: 'compact', h5py.h5d.CONTIGUOUS: 'contiguous', h5py.h5d.CHUNKED: 'chunked'}


def values(shape, dtype, seed):
    """Deterministic values that differ everywhere (a misplaced element changes the hash)."""
    n = int(np.prod(shape)) if len(shape) else 1
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == 'f':
        a = rng.standard_normal(n).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(max(info.min, -1000), min(info.max, 1000), n, endpoint=True).astype(dtype)
    return a.reshape(shape)


def dcpl_with(alloc_early=False, chunks=None, layout=None, fill=None, dtype=None):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if layout is not None:
        dcpl.set_layout(layout)
    if chunks is not None:
        dcpl.set_chunk(chunks)
    if alloc_early:
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    if fill is not None:
        dcpl.set_fill_value(np.array(fill, dtype=dtype))
    return dcpl


class Fixture:
    def __init__(self, name, libver):
        self.name = name
        self.path = os.path.join(OUT, f'{name}.h5')
        self.f = h5py.File(self.path, 'w', libver=libver)
        self.entries = []
        self.claims = {}

    def add(self, path, index=None, refused=None):
        self.claims[path] = (index, refused)

    def close(self):
        self.f.close()
        with h5py.File(self.path, 'r') as f:
            for path, (index, refused) in self.claims.items():
                ds = f[path]
                plist = ds.id.get_create_plist()
                layout = LAYOUTS[plist.get_layout()]
                entry = {
                    'path': path,
                    'objectHeader': h5py.h5o.get_info(ds.id).addr,
                    'shape': list(ds.shape),
                    'maxShape': [None if m is None else m for m in ds.maxshape] if ds.maxshape is not None else None,
                    'elementSize': ds.dtype.itemsize,
                    'dtype': ds.dtype.str,
                    'layout': layout,
                }
                if layout == 'chunked':
                    entry['chunks'] = list(ds.chunks)
                    entry['index'] = index
                    entry['chunksAllocated'] = ds.id.get_num_chunks()
                    entry['filters'] = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
                if refused is not None:
                    entry['refused'] = refused
                else:
                    data = ds[()]
                    le = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder('<'))
                    entry['sha256'] = hashlib.sha256(le.tobytes()).hexdigest()
                    entry['byteLength'] = le.nbytes
                self.entries.append(entry)
        with open(os.path.join(OUT, f'{self.name}.json'), 'w') as out:
            json.dump({'file': f'{self.name}.h5', 'datasets': self.entries}, out, indent=1)
            out.write('\n')
        print(self.name, os.path.getsize(self.path), 'bytes,', len(self.entries), 'datasets')


def chunked_set(fx, prefix, index, shapes, maxshape_of, seed, dtype='<f4', **create):
    """One dataset per shape, each written in full, a second written in part (unwritten chunks read as the fill value)."""
    for i, (shape, chunks) in shapes:
        full = f'{prefix}/full_{len(shape)}d_{i}'
        fx.f.create_dataset(full, data=values(shape, dtype, seed + i), chunks=chunks, maxshape=maxshape_of(shape), **create)
        fx.add(full, index)
        if create.get('compression') != 'gzip' and create:
            continue  # (fletcher32 alone: its partly written twins add nothing the others do not test)
        part = f'{prefix}/part_{len(shape)}d_{i}'
        d = fx.f.create_dataset(part, shape=shape, dtype=dtype, chunks=chunks, maxshape=maxshape_of(shape), fillvalue=7, **create)
        # Only the first chunk's worth along each dimension, and the last element: chunks between stay unwritten.
        lead = tuple(slice(0, min(c, s)) for c, s in zip(chunks, shape))
        d[lead] = values(shape, dtype, seed + 100 + i)[lead]
        d[tuple(s - 1 for s in shape)] = 3
        fx.add(part, index)


FILTERS = {
    'plain': {},
    'gzip': {'compression': 'gzip', 'compression_opts': 6},
    'shuffle_gzip': {'compression': 'gzip', 'shuffle': True},
    'fletcher': {'fletcher32': True},
    'shuffle_gzip_fletcher': {'compression': 'gzip', 'shuffle': True, 'fletcher32': True},
}

# Shapes with partial edge chunks, 1-D to 4-D.
SHAPES = [
    ((37,), (8,)),
    ((13, 10), (4, 3)),
    ((5, 7, 6), (2, 3, 4)),
    ((3, 4, 5, 6), (2, 3, 2, 4)),
]


def shapes_for(k, shapes, min_rank=1):
    """Every shape for the first filter set (none) and the last (all three); one shape, in turn, for the others: the fixtures stay small."""
    usable = [(i, s) for i, s in enumerate(shapes) if len(s[0]) >= min_rank]
    if k == 0 or k == len(FILTERS) - 1:
        return usable
    return [usable[k % len(usable)]]


def earliest():
    fx = Fixture('storage-earliest', 'earliest')
    f = fx.f
    f.create_dataset('contiguous_3d', data=values((4, 5, 6), '<f4', 1))
    fx.add('contiguous_3d')
    f.create_dataset('contiguous_i64', data=values((3, 7), '<i8', 2))
    fx.add('contiguous_i64')
    f.create_dataset('contiguous_unwritten', shape=(6, 5), dtype='<i4', fillvalue=-9)
    fx.add('contiguous_unwritten')
    f.create_dataset('contiguous_empty', shape=(0, 4), dtype='<f4')
    fx.add('contiguous_empty')
    f.create_dataset('scalar', data=np.float64(2.5))
    fx.add('scalar')
    dcpl = dcpl_with(layout=h5py.h5d.COMPACT)
    sp = h5py.h5s.create_simple((4, 6))
    h5py.h5d.create(f.id, b'compact_i16', h5py.h5t.STD_I16LE, sp, dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, values((4, 6), '<i2', 3))
    fx.add('compact_i16')
    for k, (name, create) in enumerate(FILTERS.items()):
        chunked_set(fx, f'btree1_{name}', 'btree-v1', shapes_for(k, SHAPES), lambda s: None, 10 * k + 10, **create)
    # Many chunks: a v1 B-tree of more than one level (64 entries a node).
    f.create_dataset('btree1_deep', data=values((300, 3), '<i2', 90), chunks=(1, 3), compression='gzip')
    fx.add('btree1_deep', 'btree-v1')
    f.create_dataset('btree1_u8', data=values((40, 9), '<u1', 91), chunks=(7, 4))
    fx.add('btree1_u8', 'btree-v1')
    f.create_dataset('refused_lzf', data=values((20, 4), '<f4', 92), chunks=(5, 4), compression='lzf')
    fx.add('refused_lzf', refused='lzf (32000)')
    f.create_dataset('refused_scaleoffset', data=values((20, 4), '<i4', 93), chunks=(5, 4), scaleoffset=0)
    fx.add('refused_scaleoffset', refused='scaleoffset (6)')
    fx.close()


def latest():
    fx = Fixture('storage-latest', 'latest')
    f = fx.f
    f.create_dataset('contiguous_2d', data=values((9, 11), '<f8', 200))
    fx.add('contiguous_2d')
    dcpl = dcpl_with(layout=h5py.h5d.COMPACT)
    sp = h5py.h5s.create_simple((3, 5))
    h5py.h5d.create(f.id, b'compact_f4', h5py.h5t.IEEE_F32LE, sp, dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, values((3, 5), '<f4', 201))
    fx.add('compact_f4')
    # Single chunk: the (maximum) shape is one chunk.
    for name, create in [('plain', {}), ('gzip', FILTERS['gzip']), ('shuffle_gzip_fletcher', FILTERS['shuffle_gzip_fletcher'])]:
        f.create_dataset(f'single_{name}', data=values((6, 7), '<f4', 210), chunks=(6, 7), **create)
        fx.add(f'single_{name}', 'single')
    f.create_dataset('single_unwritten', shape=(4, 4), dtype='<i4', chunks=(4, 4), fillvalue=11)
    fx.add('single_unwritten', 'single')
    # Implicit: early allocation, no filters, no unlimited dimension.
    for i, (shape, chunks) in enumerate(SHAPES):
        name = f'implicit_{len(shape)}d'
        f.create_dataset(name, shape=shape, dtype='<i4', chunks=chunks, dcpl=dcpl_with(alloc_early=True, chunks=chunks), fillvalue=5)
        lead = tuple(slice(0, min(c, s)) for c, s in zip(chunks, shape))
        f[name][lead] = values(shape, '<i4', 220 + i)[lead]
        fx.add(name, 'implicit')
    # Implicit with a maximum shape larger than the shape: chunks numbered over the maximum extent.
    f.create_dataset('implicit_max', data=values((5, 6), '<i2', 229), chunks=(2, 4), maxshape=(9, 11), dcpl=dcpl_with(alloc_early=True, chunks=(2, 4)))
    fx.add('implicit_max', 'implicit')
    for k, (name, create) in enumerate(FILTERS.items()):
        chunked_set(fx, f'farray_{name}', 'fixed-array', shapes_for(k, SHAPES), lambda s: s, 300 + 10 * k, **create)
        chunked_set(fx, f'earray_{name}', 'extensible-array', shapes_for(k, SHAPES), lambda s: (None,) + s[1:], 400 + 10 * k, **create)
        chunked_set(fx, f'btree2_{name}', 'btree-v2', shapes_for(k, SHAPES, 2), lambda s: (None, None) + s[2:], 500 + 10 * k, **create)
    # Fixed array numbered over a larger maximum shape; a paged fixed array (more than 1024 chunks).
    f.create_dataset('farray_max', data=values((7, 5), '<f4', 600), chunks=(2, 2), maxshape=(12, 9))
    fx.add('farray_max', 'fixed-array')
    f.create_dataset('farray_paged', data=values((50, 41), '<u1', 601), chunks=(1, 1))
    fx.add('farray_paged', 'fixed-array')
    d = f.create_dataset('farray_paged_part', shape=(50, 41), dtype='<u1', chunks=(1, 1), fillvalue=9, compression='gzip')
    d[:3, :] = values((3, 41), '<u1', 602)
    d[49, 40] = 1
    fx.add('farray_paged_part', 'fixed-array')
    # Extensible arrays past the index block (super blocks), the unlimited dimension not first too.
    f.create_dataset('earray_super', data=values((700, 6), '<u1', 610), chunks=(1, 3), maxshape=(None, 6))
    fx.add('earray_super', 'extensible-array')
    d = f.create_dataset('earray_super_part', shape=(700, 6), dtype='<u1', chunks=(1, 3), maxshape=(None, 6), fillvalue=4, compression='gzip', shuffle=True)
    d[650:660, :] = values((10, 6), '<u1', 611)
    fx.add('earray_super_part', 'extensible-array')
    f.create_dataset('earray_unlimited_last', data=values((5, 30), '<i2', 612), chunks=(2, 3), maxshape=(8, None))
    fx.add('earray_unlimited_last', 'extensible-array')
    # Paged extensible array data blocks (more than 1024 elements: super block 13 on, past element 131,060),
    # only a few chunks written: the rest of the array is never allocated, the file stays small.
    d = f.create_dataset('earray_paged', shape=(140000,), dtype='<i2', chunks=(1,), maxshape=(None,), fillvalue=-2)
    d[131050:131070] = np.arange(20, dtype='<i2')
    d[132200:132210] = np.arange(10, dtype='<i2') + 100
    d[139999] = 5
    fx.add('earray_paged', 'extensible-array')
    d = f.create_dataset('earray_paged_gzip', shape=(140000, 2), dtype='<i2', chunks=(1, 2), maxshape=(None, 2), compression='gzip', shuffle=True, fletcher32=True)
    d[133000:133020] = np.arange(40, dtype='<i2').reshape(20, 2)
    fx.add('earray_paged_gzip', 'extensible-array')
    # v2 B-trees deeper than one node.
    f.create_dataset('btree2_deep', data=values((60, 50), '<u1', 620), chunks=(2, 2), maxshape=(None, None))
    fx.add('btree2_deep', 'btree-v2')
    f.create_dataset('btree2_deep_gzip', data=values((60, 50), '<u1', 621), chunks=(2, 2), maxshape=(None, None), compression='gzip')
    fx.add('btree2_deep_gzip', 'btree-v2')
    f.create_dataset('refused_lzf', data=values((20, 4), '<f4', 630), chunks=(5, 4), compression='lzf')
    fx.add('refused_lzf', refused='lzf (32000)')
    f.create_dataset('refused_scaleoffset', data=values((20, 4), '<f4', 631), chunks=(5, 4), scaleoffset=2)
    fx.add('refused_scaleoffset', refused='scaleoffset (6)')
    fx.close()


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    earliest()
    latest()
