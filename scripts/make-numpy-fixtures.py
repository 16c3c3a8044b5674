#!/usr/bin/python3
"""Write the NumPy fixtures in test/fixtures/formats/numpy/ and, beside each, what numpy loads.

Run with Debian's numpy (python3-numpy):

    /usr/bin/python3 scripts/make-numpy-fixtures.py

For a fixture `X.npy` or `X.npz` it writes `X.npy.expected.json` (or `X.npz.expected.json`):

    {"format": "numpy", "producer": "numpy <version>", "exercises": "..",
     "tensors": [{"name": .., "dtype": "F32", "shape": [..], "sha256": "..", "encoding": {..}}]}

or, for files a converter must refuse, {"format": "numpy", "error": "<TensorsafeError code>"}.
The oracle is numpy: every file is read back with np.load(allow_pickle=False) and the SHA-256 is that
of the loaded array's C-order little-endian bytes (np.ascontiguousarray of it in '<' byte order);
refused files are checked to be refused by np.load(allow_pickle=False) too, or to hold a dtype
safetensors has no name for. No file is ever loaded with allow_pickle=True. `encoding` is what the
reader must say about the bytes (stored or strided, byte-swapped), from how the file was written.
Tensors are listed in file order (member order in an .npz). Deterministic: fixed seeds, TZ=UTC,
and a fixed clock while np.savez stamps its members.
"""

import hashlib
import io
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "formats", "numpy")
PRODUCER = f"numpy {np.__version__}"

# numpy kind+itemsize -> safetensors dtype
ST = {("b", 1): "BOOL", ("i", 1): "I8", ("i", 2): "I16", ("i", 4): "I32", ("i", 8): "I64",
      ("u", 1): "U8", ("u", 2): "U16", ("u", 4): "U32", ("u", 8): "U64",
      ("f", 2): "F16", ("f", 4): "F32", ("f", 8): "F64", ("c", 8): "C64"}


def c_le_bytes(a):
    """The loaded array's bytes as safetensors holds them: C order, little-endian."""
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a.tobytes(order="C")


def describe(name, a, fortran, big):
    enc = {"layout": "strided" if fortran and sum(1 for n in a.shape if n != 1) > 1 else "stored"}
    if big and a.dtype.itemsize > 1:
        enc["byteSwap"] = a.dtype.itemsize // 2 if a.dtype.kind == "c" else a.dtype.itemsize
    return {"name": name, "dtype": ST[(a.dtype.kind, a.dtype.itemsize)], "shape": list(a.shape),
            "sha256": hashlib.sha256(c_le_bytes(a)).hexdigest(), "encoding": enc}


def write_expected(fname, body):
    """One line per tensor, so that a diff shows which tensor changed."""
    head = {"format": "numpy", "producer": PRODUCER, **{k: v for k, v in body.items() if k != "tensors"}}
    text = json.dumps(head)
    if "tensors" in body:
        rows = ",\n".join("  " + json.dumps(t) for t in body["tensors"])
        text = text[:-1] + ', "tensors": [\n' + rows + "\n]}"
    with open(os.path.join(OUT, fname + ".expected.json"), "w") as f:
        f.write(text + "\n")


def save_npy(fname, a, exercises, version=None):
    """Writes `a` as .npy (as given: its byte order and memory order are what the file holds)."""
    path = os.path.join(OUT, fname)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version, allow_pickle=False)
    back = np.load(path, allow_pickle=False)
    assert back.dtype == a.dtype and back.shape == a.shape and c_le_bytes(back) == c_le_bytes(a), fname
    fortran = a.flags.f_contiguous and not a.flags.c_contiguous
    name = fname[: -len(".npy")]
    write_expected(fname, {"exercises": exercises, "tensors": [describe(name, back, fortran, a.dtype.byteorder == ">")]})


def refused_npy(fname, a, code, exercises, pickled=False):
    path = os.path.join(OUT, fname)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, allow_pickle=pickled)
    if pickled:
        try:
            np.load(path, allow_pickle=False)
            raise AssertionError(f"{fname}: numpy loaded an object array without allow_pickle")
        except ValueError:
            pass
    else:
        back = np.load(path, allow_pickle=False)
        assert (back.dtype.kind, back.dtype.itemsize) not in ST, fname
    write_expected(fname, {"exercises": exercises, "error": code})


class FixedClock:
    """np.savez stamps members with the current time: fixed here, so that the output is reproducible.
    The archive is numpy's own otherwise (its members carry the ZIP64 extra fields numpy forces)."""

    def __enter__(self):
        self.saved = time.time
        time.time = lambda: 1700000000.0
        return self

    def __exit__(self, *exc):
        time.time = self.saved


def save_npz(fname, arrays, exercises, compressed):
    path = os.path.join(OUT, fname)
    with FixedClock():
        (np.savez_compressed if compressed else np.savez)(path, **arrays)
    tensors = []
    with np.load(path, allow_pickle=False) as z:
        for key in z.files:
            a = arrays[key]
            back = z[key]
            assert back.dtype == a.dtype and c_le_bytes(back) == c_le_bytes(a), (fname, key)
            fortran = a.flags.f_contiguous and not a.flags.c_contiguous
            tensors.append(describe(key, back, fortran, a.dtype.byteorder == ">"))
    write_expected(fname, {"exercises": exercises, "tensors": tensors})


def main():
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".npy", ".npz", ".expected.json")):
            os.remove(os.path.join(OUT, f))
    rng = np.random.default_rng(10)

    f16 = np.array([0.0, -0.0, 1.0, -2.0, 65504.0, 6e-8, np.inf, -np.inf, np.nan], dtype="<f2")
    f32 = np.array([[0.0, -0.0, 1.5, -2.25], [np.inf, -np.inf, np.nan, 1e-45]], dtype="<f4")
    f64 = np.array([[0.0, -1.0, np.pi], [5e-324, np.inf, np.nan]], dtype="<f8")
    ints = {
        "i1": np.array([0, 1, -1, 127, -128], dtype="|i1"),
        "i2": np.array([[0, 1, -1], [32767, -32768, 12345]], dtype="<i2"),
        "i4": np.array([0, 1, -1, 2**31 - 1, -(2**31)], dtype="<i4"),
        "i8": np.array([0, 1, -1, 2**63 - 1, -(2**63)], dtype="<i8"),
        "u1": np.array([0, 1, 128, 255], dtype="|u1"),
        "u2": np.array([0, 1, 65535, 4660], dtype="<u2"),
        "u4": np.array([0, 1, 2**32 - 1, 305419896], dtype="<u4"),
        "u8": np.array([0, 1, 2**64 - 1, 2**63], dtype="<u8"),
    }
    bools = np.array([[True, False, True], [False, False, True]], dtype="|b1")
    c8 = np.array([1 + 2j, -0.5 - 0j, complex(np.inf, np.nan)], dtype="<c8")

    # Every dtype safetensors can hold, little-endian (or no byte order).
    save_npy("dtype_bool.npy", bools, "bool ('|b1')")
    for k, a in ints.items():
        save_npy(f"dtype_{k}.npy", a, f"{a.dtype.str} extremes")
    save_npy("dtype_f2.npy", f16, "float16 incl. -0, subnormal, inf, nan")
    save_npy("dtype_f4.npy", f32, "float32 incl. -0, subnormal, inf, nan; 2-D")
    save_npy("dtype_f8.npy", f64, "float64 incl. subnormal, inf, nan")
    save_npy("dtype_c8.npy", c8, "complex64 (C64)")

    # Big-endian: swapped by 2, 4 or 8 bytes (complex64 by 4, each half); one-byte types have no order.
    for k in ["i2", "i4", "i8", "u2", "u4", "u8"]:
        save_npy(f"big_{k}.npy", ints[k].astype(ints[k].dtype.newbyteorder(">")), f"big-endian {k}")
    save_npy("big_f2.npy", f16.astype(">f2"), "big-endian float16")
    save_npy("big_f4.npy", f32.astype(">f4"), "big-endian float32")
    save_npy("big_f8.npy", f64.astype(">f8"), "big-endian float64")
    save_npy("big_c8.npy", c8.astype(">c8"), "big-endian complex64: swapped by 4-byte halves")

    # Fortran order: gathered to row-major.
    save_npy("fortran_f4.npy", np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)), "Fortran order, 2-D")
    save_npy("fortran_i2_3d.npy", np.asfortranarray(np.arange(24, dtype="<i2").reshape(2, 3, 4)), "Fortran order, 3-D")
    save_npy("fortran_big_f8.npy", np.asfortranarray(rng.standard_normal((4, 5)).astype(">f8")), "Fortran order and big-endian")
    save_npy("fortran_bool.npy", np.asfortranarray(np.array([[True, False], [False, False], [True, True]])), "Fortran order, bool")

    # 0-d and empty arrays.
    save_npy("scalar_f8.npy", np.array(3.25, dtype="<f8"), "0-d array (shape ())")
    save_npy("scalar_big_i4.npy", np.array(-7, dtype=">i4"), "0-d big-endian")
    save_npy("empty_f4.npy", np.zeros((0,), dtype="<f4"), "empty, shape (0,)")
    save_npy("empty_2d_i8.npy", np.zeros((3, 0), dtype="<i8"), "empty, shape (3, 0)")

    # Header versions 2.0 and 3.0 (3.0: a UTF-8 header).
    save_npy("version2.npy", np.arange(6, dtype="<u2").reshape(2, 3), "format version 2.0 (4-byte header length)", version=(2, 0))
    save_npy("version3.npy", np.arange(4, dtype="<i4"), "format version 3.0 (UTF-8 header)", version=(3, 0))

    # Refused: object arrays (a pickle, never read), structured, strings, datetimes, complex128, long double.
    refused_npy("object.npy", np.array([1, "two", None], dtype=object), "ObjectArray", "object array: the data is a pickle", pickled=True)
    refused_npy("structured_object.npy", np.array([(1, None)], dtype=[("a", "<i4"), ("b", "O")]), "ObjectArray",
                "structured dtype with an object field: a pickle", pickled=True)
    refused_npy("structured.npy", np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]), "UnsupportedTensor", "structured dtype")
    refused_npy("unicode.npy", np.array(["ab", "cde"]), "UnsupportedTensor", "unicode strings ('<U3')")
    refused_npy("bytes.npy", np.array([b"ab", b"c"]), "UnsupportedTensor", "byte strings ('|S2')")
    refused_npy("datetime.npy", np.array(["2024-01-01"], dtype="datetime64[D]"), "UnsupportedTensor", "datetime64")
    refused_npy("complex128.npy", np.array([1 + 1j]), "UnsupportedTensor", "complex128: safetensors has C64 only")
    refused_npy("longdouble.npy", np.array([1.0], dtype=np.longdouble), "UnsupportedTensor", "long double (float128)")

    # npz: stored (np.savez) and deflated (np.savez_compressed), with every kind of array inside.
    mixed = {
        "weight": rng.standard_normal((4, 3)).astype("<f4"),
        "bias": np.arange(3, dtype="<f2"),
        "big": np.arange(5, dtype=">i8"),
        "fortran": np.asfortranarray(np.arange(6, dtype="<u4").reshape(2, 3)),
        "scalar": np.array(True),
        "empty": np.zeros((0, 2), dtype="<f8"),
        "layer/w": np.arange(4, dtype="|i1"),
    }
    save_npz("stored.npz", mixed, "np.savez: stored members, every layout", compressed=False)
    save_npz("compressed.npz", mixed, "np.savez_compressed: deflated members, every layout", compressed=True)
    # A deflated member larger than one inflate step (incompressible bytes), to stream across steps.
    save_npz("compressed_large.npz", {"noise": rng.integers(0, 256, 40000, dtype="u1").reshape(200, 200),
                                      "noise_t": np.asfortranarray(rng.integers(0, 256, 3000, dtype="u1").reshape(60, 50))},
             "np.savez_compressed: a 40 KB incompressible member (several inflate steps), and a Fortran one", compressed=True)
    # An npz with an object member is refused whole.
    path = os.path.join(OUT, "object_member.npz")
    with FixedClock():
        np.savez(path, ok=np.arange(2, dtype="<f4"), bad=np.array([None, 1], dtype=object))
    with np.load(path, allow_pickle=False) as z:
        try:
            z["bad"]
            raise AssertionError("object member loaded without allow_pickle")
        except ValueError:
            pass
    write_expected("object_member.npz", {"exercises": "an npz whose member is an object array", "error": "ObjectArray"})
    print(f"wrote {len([f for f in os.listdir(OUT) if not f.endswith('.json')])} fixtures to {OUT}")


if __name__ == "__main__":
    sys.exit(main())
