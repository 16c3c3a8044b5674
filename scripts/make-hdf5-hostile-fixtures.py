#!/usr/bin/python3
"""Hostile HDF5 files for test/hdf5-hostile.test.ts, written by h5py (Debian python3-h5py).

external-data.h5: an external link, a dataset in an external raw file, a virtual dataset whose source
is another file (h5py reads other files' bytes through each), beside one plain dataset.
Run: /usr/bin/python3 scripts/make-hdf5-hostile-fixtures.py
"""
import os
import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'hdf5', 'hostile')
os.makedirs(OUT, exist_ok=True)
os.chdir(OUT)

with h5py.File('external-data.h5', 'w') as f:
    f['w'] = np.ones(3, 'f4')
    f['link'] = h5py.ExternalLink('/etc/hostname', '/s')
    f.create_dataset('raw', shape=(4,), dtype='f4', external=[('/etc/hostname', 0, 16)])
    layout = h5py.VirtualLayout(shape=(2,), dtype='f4')
    layout[:] = h5py.VirtualSource('/etc/other.h5', 's', shape=(2,))
    f.create_virtual_dataset('vds', layout)

# Terabytes never written: a chunked dataset none of whose chunks exist, a contiguous one never
# allocated, and one whose few written chunks leave the rest to its fill value.
with h5py.File('fill-bomb-chunked.h5', 'w') as f:
    f.create_dataset('h', shape=(2**40,), dtype='f4', chunks=(1 << 20,), fillvalue=1.0)
with h5py.File('fill-bomb-contiguous.h5', 'w') as f:
    f.create_dataset('h', shape=(2**38,), dtype='f4', fillvalue=2.0)
with h5py.File('fill-bomb-partial.h5', 'w', libver='latest') as f:
    d = f.create_dataset('h', shape=(2**32,), dtype="f4", chunks=(1 << 10,), maxshape=(None,), fillvalue=3.0)
    d[0:4] = 1

# A Fletcher-32 chunk changed after it was written: refused as a coded error while its bytes stream.
with h5py.File('fletcher32-damaged.h5', 'w') as f:
    f.create_dataset('f', data=np.arange(64, dtype='f4'), chunks=(16,), fletcher32=True)
with h5py.File('fletcher32-damaged.h5', 'r') as f:
    at = f['f'].id.get_chunk_info(1).byte_offset
data = bytearray(open('fletcher32-damaged.h5', 'rb').read())
data[at + 5] ^= 1
open('fletcher32-damaged.h5', 'wb').write(bytes(data))

# A Lambda config among dense root attributes whose fractal heap says it is filtered (as if compressed):
# the name is blanked so that no byte scan finds it; the HDF5 library would decompress the heap.
import json
LAMBDA = {"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["YWJj", None, None], "function_type": "lambda"}}]}}
with h5py.File('dense-attributes-filtered-heap.h5', 'w', libver='latest') as f:
    for i in range(20):
        f.attrs['a%d' % i] = 'x' * 10
    f.attrs['model_config'] = json.dumps(LAMBDA)
data = bytearray(open('dense-attributes-filtered-heap.h5', 'rb').read())
heap = data.find(b'FRHP')
data[heap + 7] = 8  # I/O filters' encoded length: filtered
name = data.find(b'model_config\0')
data[name:name + 12] = bytes(12)
open('dense-attributes-filtered-heap.h5', 'wb').write(bytes(data))
