#!/usr/bin/python3
"""Write the PyTorch and safetensors fixtures of the format loop (test/fixtures/formats/<id>/) and,
beside each, `<file>.expected.json` with what the producer reads back (see test/formats.test.ts):

    {"format": "<id>", "producer": "..", "exercises": "..",
     "tensors": [{"name": .., "dtype": "F32", "shape": [..], "sha256": "..", "encoding": {..}}]}

or {"format": "<id>", "error": "<TensorsafeError code>"} for files a reader must refuse.

Run with Debian's torch and numpy (python3-torch, python3-numpy):

    /usr/bin/python3 scripts/make-format-fixtures.py

pytorch/: checkpoints written by torch.save, read back with torch.load; the SHA-256 is that of each
loaded tensor's t.contiguous() bytes (bf16 as int16, bool as uint8, complex64 as (re, im) float32
pairs). torch 1.13 cannot write big-endian files: big_zip.pt is test/fixtures/torch/byteorder_big_zip.pt
(crafted by scripts/make-torch-fixtures.py, checked there against torch), with its expected values.

safetensors/: Debian has no safetensors package, so files are laid out here by the format's
documented rules (an 8-byte little-endian header length, the JSON header padded with spaces to 8
bytes, the data) from numpy arrays, and the SHA-256 is numpy's of each array's little-endian bytes.

Tensors are listed in the order the file holds them. Deterministic (fixed seeds, no timestamps).
"""

import hashlib
import io
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "formats")

TORCH_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
                torch.bool: "BOOL", torch.complex64: "C64"}


def write_expected(folder, fname, body):
    """One line per tensor, so that a diff shows which tensor changed."""
    head = {k: v for k, v in body.items() if k != "tensors"}
    text = json.dumps(head)
    if "tensors" in body:
        rows = ",\n".join("  " + json.dumps(t) for t in body["tensors"])
        text = text[:-1] + ', "tensors": [\n' + rows + "\n]}"
    with open(os.path.join(OUT, folder, fname + ".expected.json"), "w") as f:
        f.write(text + "\n")


def clear(folder):
    path = os.path.join(OUT, folder)
    os.makedirs(path, exist_ok=True)
    for f in os.listdir(path):
        # TorchScript fixtures are scripts/make-torchscript-fixtures.py's.
        if not f.startswith("torchscript_"):
            os.remove(os.path.join(path, f))


# --- pytorch -------------------------------------------------------------------------------------


def torch_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    if t.dtype == torch.bool:
        return t.view(torch.uint8).numpy().tobytes()
    if t.dtype == torch.complex64:
        return torch.view_as_real(t).contiguous().numpy().tobytes()
    return t.numpy().tobytes()


def torch_entry(name, t):
    layout = "stored" if t.is_contiguous() else "strided"
    return {"name": name, "dtype": TORCH_DTYPES[t.dtype], "shape": list(t.shape),
            "sha256": hashlib.sha256(torch_bytes(t)).hexdigest(), "encoding": {"layout": layout}}


def save_torch(fname, tensors, exercises, legacy=False):
    path = os.path.join(OUT, "pytorch", fname)
    torch.save(tensors, path, _use_new_zipfile_serialization=not legacy)
    loaded = torch.load(path)
    rows = []
    for name, t in tensors.items():
        back = loaded[name]
        assert back.dtype == t.dtype and torch_bytes(back) == torch_bytes(t), (fname, name)
        rows.append(torch_entry(name, back))
    write_expected("pytorch", fname, {"format": "pytorch", "producer": f"torch {torch.__version__}", "exercises": exercises, "tensors": rows})


def pytorch():
    clear("pytorch")
    torch.manual_seed(10)
    dtypes = {
        "f64": torch.tensor([[0.0, -1.0, 3.5], [float("inf"), float("nan"), 5e-324]], dtype=torch.float64),
        "f32": torch.randn(2, 3),
        "f16": torch.tensor([0.0, -0.0, 1.0, 65504.0, 6e-8, float("inf")], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.5, 3e38, float("-inf")], dtype=torch.bfloat16),
        "i64": torch.tensor([0, -1, 2**63 - 1, -(2**63)], dtype=torch.int64),
        "i32": torch.tensor([[0, 2**31 - 1], [-(2**31), 7]], dtype=torch.int32),
        "i16": torch.tensor([0, 32767, -32768], dtype=torch.int16),
        "i8": torch.tensor([0, 127, -128], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "c64": torch.tensor([1 + 2j, -0.5 + 0j], dtype=torch.complex64),
    }
    save_torch("dtypes_zip.pt", dtypes, "every safetensors dtype torch has; zip format")
    save_torch("dtypes_legacy.pt", dtypes, "every safetensors dtype torch has; legacy format", legacy=True)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {
        "base": base,
        "transposed": base.t(),
        "stepped": base[:, ::2],
        "row": base[2],
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(3, 0),
    }
    save_torch("views_zip.pt", views, "views of one storage (transpose, steps, a row), 0-d, empty")
    # Refused: safetensors has no complex128.
    path = os.path.join(OUT, "pytorch", "complex128_zip.pt")
    torch.save({"z": torch.tensor([1 + 1j], dtype=torch.complex128)}, path)
    write_expected("pytorch", "complex128_zip.pt", {"format": "pytorch", "producer": f"torch {torch.__version__}",
                                                     "exercises": "complex128, which safetensors cannot hold", "error": "UnsupportedTensor"})
    # Big-endian: torch 1.13 cannot write it; the torch fixture crafted and checked by make-torch-fixtures.py.
    src = os.path.join(ROOT, "test", "fixtures", "torch")
    shutil.copyfile(os.path.join(src, "byteorder_big_zip.pt"), os.path.join(OUT, "pytorch", "big_zip.pt"))
    with open(os.path.join(src, "byteorder_big_zip.expected.json")) as f:
        doc = json.load(f)
    swap = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "C64": 4}
    rows = []
    for name, t in doc["tensors"].items():
        enc = {"layout": "stored"}
        if t["dtype"] in swap:
            enc["byteSwap"] = swap[t["dtype"]]
        rows.append({"name": name, "dtype": t["dtype"], "shape": t["shape"], "sha256": t["sha256"], "encoding": enc})
    write_expected("pytorch", "big_zip.pt", {"format": "pytorch", "producer": f"torch {doc['torch']} (crafted big-endian, test/fixtures/torch)",
                                              "exercises": "big-endian storages, byte-swapped", "tensors": rows})


# --- safetensors ---------------------------------------------------------------------------------

NP_NAMES = {("b", 1): "BOOL", ("u", 1): "U8", ("i", 1): "I8", ("i", 2): "I16", ("u", 2): "U16", ("i", 4): "I32",
            ("u", 4): "U32", ("i", 8): "I64", ("u", 8): "U64", ("f", 2): "F16", ("f", 4): "F32", ("f", 8): "F64", ("c", 8): "C64"}


def write_safetensors(fname, tensors, metadata=None, truncate=0):
    """tensors: name -> (dtype name, shape, little-endian bytes), laid out in the given order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    blob = struct.pack("<Q", len(text)) + text + data
    with open(os.path.join(OUT, "safetensors", fname), "wb") as f:
        f.write(blob[: len(blob) - truncate])


def np_tensor(a):
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return (NP_NAMES[(a.dtype.kind, a.dtype.itemsize)], a.shape, a.tobytes())


def save_st(fname, tensors, exercises, metadata=None):
    write_safetensors(fname, tensors, metadata)
    rows = [{"name": n, "dtype": d, "shape": list(s), "sha256": hashlib.sha256(raw).hexdigest(), "encoding": {"layout": "stored"}}
            for n, (d, s, raw) in tensors.items()]
    write_expected("safetensors", fname, {"format": "safetensors", "producer": f"numpy {np.__version__} (layout by the format's rules)",
                                          "exercises": exercises, "tensors": rows})


def safetensors():
    clear("safetensors")
    rng = np.random.default_rng(10)
    arrays = {
        "bool": np.array([True, False, True]),
        "u8": np.array([0, 255], dtype="u1"), "i8": np.array([-128, 127], dtype="i1"),
        "i16": np.array([-32768, 32767], dtype="<i2"), "u16": np.array([0, 65535], dtype="<u2"),
        "i32": np.array([[-(2**31), 1], [2, 2**31 - 1]], dtype="<i4"), "u32": np.array([2**32 - 1], dtype="<u4"),
        "i64": np.array([-(2**63), 2**63 - 1], dtype="<i8"), "u64": np.array([2**64 - 1], dtype="<u8"),
        "f16": np.array([0.0, -0.0, 65504.0, np.inf], dtype="<f2"), "f32": rng.standard_normal((2, 3)).astype("<f4"),
        "f64": np.array([np.pi, np.nan], dtype="<f8"), "c64": np.array([1 + 2j], dtype="<c8"),
    }
    tensors = {n: np_tensor(a) for n, a in arrays.items()}
    # Dtypes numpy has no type for, as raw bits: bf16 (upper halves of float32), f8 bytes.
    f32 = np.array([1.0, -2.5, 3e38], dtype="<f4")
    tensors["bf16"] = ("BF16", (3,), (f32.view("<u4") >> 16).astype("<u2").tobytes())
    tensors["f8_e4m3"] = ("F8_E4M3", (2, 2), bytes([0x00, 0x38, 0xB8, 0x7E]))
    save_st("dtypes.safetensors", tensors, "every safetensors dtype numpy has, plus BF16 and F8_E4M3 as raw bits")
    save_st("shapes.safetensors", {"scalar": np_tensor(np.array(1.5, dtype="<f4")), "empty": np_tensor(np.zeros((2, 0), dtype="<i4")),
                                   "four_d": np_tensor(np.arange(24, dtype="<i2").reshape(1, 2, 3, 4))},
            "0-d, empty, 4-D", metadata={"format": "pt", "note": "metadata is kept"})
    # Refused: the data stops before the last tensor's end (the reference's MetadataIncompleteBuffer).
    write_safetensors("truncated.safetensors", {"w": np_tensor(np.arange(8, dtype="<f4"))}, truncate=4)
    write_expected("safetensors", "truncated.safetensors", {"format": "safetensors", "producer": "numpy (layout by the format's rules)",
                                                             "exercises": "data shorter than the header says", "error": "MetadataIncompleteBuffer"})


def main():
    pytorch()
    safetensors()
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
