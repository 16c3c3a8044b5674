#!/usr/bin/python3
"""Prints what numpy.load(allow_pickle=False) reads from an .npy or .npz file, as JSON: for each array
(an .npy's under ''), its dtype.str, shape and the SHA-256 of its bytes in memory (row-major). The
tests (test/numpy-output.test.ts) compare these with the fixtures' expected digests: a BF16 or F8 tensor
written with --allow-raw must come back as '<u2' or '|u1' with exactly the source's bits.

    /usr/bin/python3 scripts/numpy-load-bits.py out.npz
"""
import hashlib, json, sys
import numpy

f = numpy.load(sys.argv[1], allow_pickle=False)
arrays = dict(f.items()) if hasattr(f, 'files') else {'': f}
print(json.dumps({k: {'descr': a.dtype.str, 'shape': list(a.shape), 'sha256': hashlib.sha256(numpy.ascontiguousarray(a).tobytes()).hexdigest()} for k, a in arrays.items()}))
