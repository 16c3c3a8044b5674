#!/usr/bin/python3
"""Write the PyTorch checkpoint fixtures in test/fixtures/torch/ and, next to each one, what torch loads.

Run with the Debian Python that has torch (python3-torch, 1.13):

    cd /work/main && /usr/bin/python3 scripts/make-torch-fixtures.py

For a checkpoint `X.ext` it writes `X.expected.json`:

    {"source": "X.ext", "torch": "<torch.__version__>", "format": "zip"|"legacy"|"tar"|"torchscript"|"pickle",
     "key": <path to the tensors, such as "state_dict", or null>,
     "other": [<other top-level keys>]                       (only for wrapped checkpoints),
     "tensors": {name: {"dtype": "F32", "shape": [..], "hex": "<raw little-endian bytes>", "sha256": ".."}},
     "shared": [[names that are one identical view: same storage, offset, shape, stride]],
     "same_storage": [[names whose views live in one storage, identical or not]],
     "notes": ".."}

or, for checkpoints that a converter must refuse, `"expect_error": "<reason>"` instead of "tensors".
The bytes are those of `t.contiguous()` (bf16 as int16, bool as uint8, complex64 as (re, im) float32
pairs), taken from what `torch.load` returns, and checked against the tensors that were saved.
Tensors of the demo sample in sample/ carry only "sha256" (their hex would be ~0.5 MB).

Determinism: fixed seeds and PYTHONHASHSEED=0 (the script re-executes itself with it); torch's zip
writer stores no timestamps; the legacy format's storage keys are `str(storage._cdata)` (memory
addresses), so the generator renames them to fixed address-like numbers in order of first use and
writes the key list and storage blobs in that sorted order (see _LegacyKeys); crafted tar members
have mtime 0. The TorchScript archive's code/*.debug_pkl records the absolute source paths of this
script and of torch, so it changes if the checkout or torch moves.

MANIFEST.tsv lists every file (path relative to test/fixtures/torch, format, expected file,
what it exercises); lines starting with '#' record the cases torch 1.13 could not produce.
"""

import argparse
import collections
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import sys
import tarfile
import zipfile

import numpy as np
import torch
import torch.nn as nn

if os.environ.get("PYTHONHASHSEED") != "0":
    # TorchScript writes some members in set order; fix str hashing so that output is reproducible.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "torch")
TORCH_VERSION = torch.__version__

DTYPE_NAMES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
    torch.complex64: "C64",
}
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "C64": 8}

LEGACY_NOTE = ("legacy storage keys (str(_cdata) addresses in torch's output) are renamed to fixed address-like "
               "numbers in order of first use, with the key list and storage data in their sorted order")

MANIFEST = []  # (file, format, expected, exercises)
NOT_PRODUCED = []  # free text lines


def seed(n):
    torch.manual_seed(n)
    np.random.seed(n)


def path_of(name):
    return os.path.join(OUT, name)


def expected_name(name):
    base, _ext = os.path.splitext(name)
    return base + ".expected.json"


# ---------------------------------------------------------------------------------------------
# Tensor bytes and expected-values files


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    if t.dtype == torch.bool:
        return t.view(torch.uint8).numpy().tobytes()
    if t.dtype == torch.complex64:
        return torch.view_as_real(t).contiguous().numpy().tobytes()
    return t.numpy().tobytes()


def storage_id(t):
    s = t.storage()
    cdata = getattr(s, "_cdata", None)
    return cdata if cdata is not None else s.data_ptr()


def tensor_entry(t, with_hex=True):
    if t.dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype {t.dtype} has no safetensors name")
    b = raw_bytes(t)
    dtype = DTYPE_NAMES[t.dtype]
    assert len(b) == DTYPE_SIZES[dtype] * t.numel(), (dtype, t.shape, len(b))
    e = {"dtype": dtype, "shape": list(t.shape)}
    if with_hex:
        e["hex"] = b.hex()
    e["sha256"] = hashlib.sha256(b).hexdigest()
    return e


def groups(tensors, identical):
    by = collections.OrderedDict()
    for name, t in tensors.items():
        k = (storage_id(t),)
        if identical:
            k += (t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
        by.setdefault(k, []).append(name)
    return sorted(sorted(g) for g in by.values() if len(g) > 1)


def check_same(loaded, original, where):
    assert set(loaded) == set(original), (where, sorted(loaded), sorted(original))
    for name, t in original.items():
        lt = loaded[name]
        assert isinstance(lt, torch.Tensor), (where, name, type(lt))
        assert lt.dtype == t.dtype and tuple(lt.shape) == tuple(t.shape), (where, name, lt.dtype, lt.shape)
        assert raw_bytes(lt) == raw_bytes(t), (where, name)


def to_json(v, indent=0):
    """JSON with one key per line and lists of scalars (shapes, name groups) on one line."""
    pad = " " * (indent + 1)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {to_json(x, indent + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(v, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in v):
            return "[" + ", ".join(json.dumps(x) for x in v) + "]"
        return "[\n" + ",\n".join(pad + to_json(x, indent + 1) for x in v) + "\n" + " " * indent + "]"
    return json.dumps(v)


def write_json(name, doc):
    with open(path_of(name), "w") as f:
        f.write(to_json(doc) + "\n")


def expected_doc(source, fmt, key, tensors, notes, other=None, with_hex=True, extra=None):
    doc = {"source": source, "torch": TORCH_VERSION, "format": fmt, "key": key}
    if other is not None:
        doc["other"] = other
    doc["tensors"] = {n: tensor_entry(t, with_hex) for n, t in tensors.items()}
    doc["shared"] = groups(tensors, identical=True)
    doc["same_storage"] = groups(tensors, identical=False)
    if extra:
        doc.update(extra)
    doc["notes"] = notes
    return doc


def select(obj, key):
    if key is None:
        return obj
    for part in key.split("."):
        obj = obj[part]
    return obj


def record(name, fmt, original, exercises, notes="", key=None, load=None, with_hex=True):
    """Load `name` with torch, check it against `original` (the saved object), write X.expected.json."""
    loaded_obj = load(path_of(name)) if load else torch.load(path_of(name))
    loaded = select(loaded_obj, key)
    orig = select(original, key)
    check_same(loaded, orig, name)
    other = None
    if key is not None:
        top = key.split(".")[0]
        other = [str(k) for k in loaded_obj.keys() if k != top]
    tensors = collections.OrderedDict((n, loaded[n]) for n in loaded.keys())
    if fmt == "legacy":
        notes = (notes + "; " if notes else "") + LEGACY_NOTE
    exp = expected_name(name)
    write_json(exp, expected_doc(os.path.basename(name), fmt, key, tensors, notes, other, with_hex))
    MANIFEST.append((name, fmt, exp, exercises))


def record_error(name, fmt, reason, exercises, notes=""):
    exp = expected_name(name)
    write_json(exp, {"source": os.path.basename(name), "torch": TORCH_VERSION, "format": fmt, "key": None,
                     "expect_error": reason, "notes": notes})
    MANIFEST.append((name, fmt, exp, exercises))


# ---------------------------------------------------------------------------------------------
# Writers


def save_zip(obj, name, **kw):
    torch.save(obj, path_of(name), **kw)


class _LegacyKeys:
    """A pickle_module for torch's _legacy_save (torch.save(..., _use_new_zipfile_serialization=False)).

    torch names legacy storages str(storage._cdata), a memory address, and writes the key list and the
    storage data sorted by those names, so two runs differ. This module renames each storage, in the
    order the pickle first meets it, to a fixed address-like number (15 digits, 64 apart: the sort order
    is the order of first use) and remembers where the key list starts, so that `save_legacy` can put
    the key list and the storage blobs in the sorted order of the new names. The pickles themselves are
    the bytes torch's pickler writes."""

    __name__ = "pickle"

    def __init__(self):
        self.keymap = {}  # real key -> fixed key
        self.nbytes = {}  # fixed key -> bytes of data
        self.keylist_at = None
        self.keylist_protocol = None
        outer = self

        def fixed(real):
            if real not in outer.keymap:
                outer.keymap[real] = str(140000000000000 + 64 * (len(outer.keymap) + 1))
            return outer.keymap[real]

        class Pickler(pickle.Pickler):
            @property
            def persistent_id(self):
                return self._ts_pid

            @persistent_id.setter
            def persistent_id(self, fn):
                self._ts_inner = fn

            def _ts_pid(self, obj):
                r = self._ts_inner(obj)
                if isinstance(r, tuple) and r[0] == "storage":
                    _, stype, key, location, numel, view = r
                    key = fixed(key)
                    outer.nbytes[key] = numel * torch._utils._element_size(stype.dtype)
                    if view is not None:
                        view = (fixed(view[0]),) + tuple(view[1:])
                    r = ("storage", stype, key, location, numel, view)
                return r

        self.Pickler = Pickler

    def dump(self, obj, f, protocol):
        if isinstance(obj, list) and all(isinstance(k, str) and k in self.keymap for k in obj):
            self.keylist_at = f.tell()
            self.keylist_protocol = protocol
            self.written_order = [self.keymap[k] for k in obj]
            obj = self.written_order
        pickle.dump(obj, f, protocol=protocol)


def save_legacy(obj, name, pickle_protocol=2):
    mod = _LegacyKeys()
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_module=mod, pickle_protocol=pickle_protocol, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    head = data[:mod.keylist_at]
    tail = io.BytesIO(data[mod.keylist_at:])
    assert pickle.load(tail) == mod.written_order
    blobs = {}
    for key in mod.written_order:
        numel_bytes = tail.read(8)
        (numel,) = struct.unpack("<q", numel_bytes)
        size = mod.nbytes[key]
        assert size % max(numel, 1) == 0 and (numel > 0 or size == 0), (key, numel, size)
        blobs[key] = numel_bytes + tail.read(size)
        assert len(blobs[key]) == 8 + size
    assert tail.read() == b"", "unexpected bytes after the last legacy storage"
    order = sorted(blobs)
    with open(path_of(name), "wb") as f:
        f.write(head)
        f.write(pickle.dumps(order, protocol=mod.keylist_protocol))
        for key in order:
            f.write(blobs[key])


# ---------------------------------------------------------------------------------------------
# Models


class SmallModel(nn.Module):
    """Embedding + Linear + LayerNorm, with a buffer."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.proj = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.register_buffer("position_ids", torch.arange(6).unsqueeze(0))

    def forward(self, ids):
        return self.norm(self.proj(self.embed(ids)))


class LitWrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model


# ---------------------------------------------------------------------------------------------
# Cases


def dtype_tensors():
    seed(1)
    f = torch.tensor([0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"), float("nan"), 1e-40])
    return collections.OrderedDict([
        ("f64", torch.tensor([[0.0, -1.0, 3.141592653589793], [1e-310, float("inf"), float("nan")]], dtype=torch.float64)),
        ("f32", f.reshape(2, 4)),
        ("f16", torch.tensor([0.0, 1.0, -2.0, 65504.0, 6e-8, float("inf"), float("nan"), 0.333], dtype=torch.float16)),
        ("bf16", torch.tensor([[0.0, 1.0, -2.0], [3.0e38, 1e-39, float("-inf")]], dtype=torch.bfloat16)),
        ("i64", torch.tensor([0, 1, -1, 2**63 - 1, -2**63], dtype=torch.int64)),
        ("i32", torch.tensor([[0, 2**31 - 1], [-2**31, -7]], dtype=torch.int32)),
        ("i16", torch.tensor([0, 32767, -32768, 258], dtype=torch.int16)),
        ("i8", torch.tensor([0, 127, -128, -1, 5], dtype=torch.int8)),
        ("u8", torch.tensor([0, 1, 128, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([[True, False, True], [False, False, True]])),
        ("c64", torch.tensor([1 + 2j, -0.5 + 0j, 0 - 3.25j], dtype=torch.complex64)),
    ])


def case_dtypes():
    t = dtype_tensors()
    save_zip(t, "dtypes_zip.pt")
    record("dtypes_zip.pt", "zip", t, "every safetensors dtype (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL C64) incl. inf/nan/-0/subnormals and integer extremes; zip format")
    save_legacy(t, "dtypes_legacy.pt")
    record("dtypes_legacy.pt", "legacy", t, "every safetensors dtype; legacy stacked-pickle format (_use_new_zipfile_serialization=False)")


def shapes_tensors():
    seed(2)
    return collections.OrderedDict([
        ("scalar_f32", torch.tensor(2.5)),
        ("scalar_i64", torch.tensor(-7)),
        ("scalar_bool", torch.tensor(True)),
        ("empty_0", torch.zeros(0)),
        ("empty_2x0", torch.zeros(2, 0, dtype=torch.int32)),
        ("four_d", torch.randn(2, 3, 2, 2)),
    ])


def case_shapes():
    t = shapes_tensors()
    save_zip(t, "shapes_zip.pt")
    record("shapes_zip.pt", "zip", t, "0-dim scalars, zero-size tensors [0] and [2,0] (empty storage records), a 4-D tensor; zip")
    t = shapes_tensors()
    save_legacy(t, "shapes_legacy.pt")
    record("shapes_legacy.pt", "legacy", t, "0-dim scalars, zero-size tensors, a 4-D tensor; legacy")


def views(with_base):
    base = torch.arange(10, dtype=torch.float32) * 1.5
    d = collections.OrderedDict()
    if with_base:
        d["base"] = base
    d["tail"] = base[3:]
    d["mid"] = base[1:5]
    m = torch.arange(12, dtype=torch.int64).reshape(3, 4)
    d["corner"] = m[1:, 1:]  # offset 5, strides (4, 1), not contiguous
    return d


def case_views():
    for fmt, saver in (("zip", save_zip), ("legacy", save_legacy)):
        t = views(False)
        saver(t, f"views_nobase_{fmt}.pt")
        record(f"views_nobase_{fmt}.pt", fmt, t,
               f"storage offsets: base[3:], base[1:5], m[1:,1:] saved without their base; the whole base storage is stored; {fmt}",
               notes="the storage holds the whole base (10 floats / 12 longs); only the views are named")
        t = views(True)
        saver(t, f"views_base_{fmt}.pt")
        record(f"views_base_{fmt}.pt", fmt, t,
               f"storage offsets: base saved with views base[3:], base[1:5] of it, plus m[1:,1:]; {fmt}",
               notes="base, tail and mid share one storage (same_storage) but are different views")


def strides():
    seed(3)
    m = torch.randn(3, 4)
    p = torch.randn(2, 3, 4)
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    return collections.OrderedDict([
        ("transposed", m.t()),
        ("every_other_column", m[:, ::2]),
        ("permuted", p.permute(2, 0, 1)),
        ("expanded", torch.arange(4.0).expand(3, 4)),
        ("unsqueeze_expanded", x.unsqueeze(0).expand(5, -1)),
        ("transposed_slice", torch.arange(6, dtype=torch.int16).reshape(2, 3).t()[1:]),
    ])


def case_strides():
    for fmt, saver in (("zip", save_zip), ("legacy", save_legacy)):
        t = strides()
        saver(t, f"strides_{fmt}.pt")
        record(f"strides_{fmt}.pt", fmt, t,
               f"non-contiguous views: m.t(), m[:, ::2] (same storage as m.t()), permute(2,0,1), zero strides from expand(3,4) and unsqueeze(0).expand(5,-1), transposed slice with offset; {fmt}",
               notes="expanded tensors have stride 0 and a storage smaller than their numel")


def tied():
    seed(4)
    w = torch.randn(5, 3)
    u = torch.randn(2, 3, dtype=torch.float16)
    d = collections.OrderedDict()
    d["embed.weight"] = w
    d["lm_head.weight"] = w
    d["tok.weight"] = u  # inserted first but sorts after its alias
    d["decoder.weight"] = u
    d["other"] = torch.ones(2)
    return d


def split_views():
    base = torch.arange(6, dtype=torch.int32) * 3
    return collections.OrderedDict([("a", base[:2]), ("b", base[2:])])


def case_tied():
    for fmt, saver in (("zip", save_zip), ("legacy", save_legacy)):
        t = tied()
        saver(t, f"tied_{fmt}.pt")
        record(f"tied_{fmt}.pt", fmt, t,
               f"tied weights: embed.weight/lm_head.weight are one tensor object; tok.weight/decoder.weight too, with the alias sorting first; {fmt}",
               notes="each tied pair is one storage record and one identical view (memoized in the pickle)")
        t = split_views()
        saver(t, f"split_views_{fmt}.pt")
        record(f"split_views_{fmt}.pt", fmt, t,
               f"two different views of one storage (a = base[:2], b = base[2:]): same_storage but not shared; {fmt}",
               notes="'shared' is empty: the views differ; 'same_storage' lists them")


def small_model(s=5):
    seed(s)
    return SmallModel()


def case_state_dict():
    m = small_model()
    sd = m.state_dict()
    assert hasattr(sd, "_metadata")
    save_zip(sd, "model_state_dict.bin")
    record("model_state_dict.bin", "zip", sd,
           "nn.Module state_dict (Embedding+Linear+LayerNorm, int64 buffer position_ids) as pytorch_model.bin: OrderedDict with _metadata (BUILD of __dict__); zip")
    save_legacy(sd, "model_state_dict_legacy.bin")
    record("model_state_dict_legacy.bin", "legacy", sd, "the same state_dict in the legacy format")


def case_parameters():
    seed(6)
    d = collections.OrderedDict([
        ("weight", nn.Parameter(torch.randn(3, 2))),
        ("bias", nn.Parameter(torch.zeros(3), requires_grad=False)),
        ("plain", torch.ones(2, dtype=torch.float64)),
    ])
    save_zip(d, "parameters_zip.pt")
    record("parameters_zip.pt", "zip", d,
           "nn.Parameter objects saved directly: torch._utils._rebuild_parameter wrapping _rebuild_tensor_v2 (requires_grad True and False); zip")
    save_legacy(d, "parameters_legacy.pt")
    record("parameters_legacy.pt", "legacy", d, "nn.Parameter objects saved directly; legacy")


def trained(s=7):
    m = small_model(s)
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    loss = m(ids).pow(2).mean()
    loss.backward()
    opt.step()
    sched.step()
    return m, opt, sched


def case_training():
    m, opt, _ = trained()
    ckpt = {"state_dict": m.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
            "hyper_parameters": argparse.Namespace(lr=0.1)}
    save_zip(ckpt, "training_checkpoint.pt")
    record("training_checkpoint.pt", "zip", ckpt,
           "training checkpoint: weights under 'state_dict'; Adam optimizer state with tensors (exp_avg, exp_avg_sq, 0-dim step); int epoch; argparse.Namespace (GLOBAL argparse Namespace + BUILD) in hyper_parameters",
           key="state_dict",
           notes="only state_dict holds weights; optimizer tensors and the Namespace must be skipped, not executed")

    lit = LitWrapper(small_model(8))
    opt = torch.optim.Adam(lit.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    lit.model(torch.tensor([[1, 2]])).sum().backward()
    opt.step()
    sched.step()
    ckpt = collections.OrderedDict([
        ("epoch", 1),
        ("global_step", 10),
        ("pytorch-lightning_version", "2.0.0"),
        ("state_dict", lit.state_dict()),
        ("loops", {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 2, "completed": 1}}}}),
        ("callbacks", {"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 1, 'train_time_interval': None}": {
            "monitor": "val_loss", "best_model_score": torch.tensor(0.25), "best_model_path": "checkpoints/epoch=0.ckpt",
            "current_score": torch.tensor(0.25), "dirpath": "checkpoints", "best_k_models": {}, "kth_best_model_path": "",
            "kth_value": torch.tensor(float("inf")), "last_model_path": ""}}),
        ("optimizer_states", [opt.state_dict()]),
        ("lr_schedulers", [sched.state_dict()]),
        ("hparams_name", "kwargs"),
        ("hyper_parameters", {"lr": 0.01}),
    ])
    save_zip(ckpt, "lightning_like.ckpt")
    record("lightning_like.ckpt", "zip", ckpt,
           "PyTorch Lightning-like .ckpt layout (plain values): weights under 'state_dict' with 'model.' prefix; tensors also in callbacks and optimizer_states",
           key="state_dict", notes="written without lightning; only state_dict holds weights")

    for wrap in ("model", "module"):
        sd = small_model(9).state_dict()
        ckpt = {wrap: sd, "meta": {"step": 5}}
        save_zip(ckpt, f"wrapped_{wrap}.pt")
        record(f"wrapped_{wrap}.pt", "zip", ckpt, f"state_dict wrapped as {{'{wrap}': state_dict, 'meta': ...}}", key=wrap)


class TinyLM(nn.Module):
    """Embedding, two blocks of Linear+LayerNorm, lm_head tied to the embedding."""

    def __init__(self, vocab=16, dim=4):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList([nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim)) for _ in range(2)])
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.embed_tokens.weight


def case_sharded():
    seed(10)
    sd = TinyLM().state_dict()
    names = list(sd.keys())
    assert names[0] == "embed_tokens.weight" and names[-1] == "lm_head.weight"
    sd = collections.OrderedDict(("model." + k if k != "lm_head.weight" else k, v) for k, v in sd.items())
    names = list(sd.keys())
    half = len(names) // 2
    files = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    shards = [collections.OrderedDict((n, sd[n]) for n in names[:half]),
              collections.OrderedDict((n, sd[n]) for n in names[half:])]
    os.makedirs(path_of("sharded"), exist_ok=True)
    weight_map = {}
    loaded_all = collections.OrderedDict()
    total = 0
    for fn, shard in zip(files, shards):
        p = os.path.join("sharded", fn)
        torch.save(shard, path_of(p))
        loaded = torch.load(path_of(p))
        check_same(loaded, shard, p)
        for n, t in loaded.items():
            weight_map[n] = fn
            loaded_all[n] = t
            total += t.numel() * t.element_size()
        MANIFEST.append((p, "zip", "sharded/expected.json", f"shard {fn[14:19]} of a transformers-style sharded set; its tied partner lives in the other shard"))
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(path_of("sharded/pytorch_model.bin.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    tied_pair = sorted(["model.embed_tokens.weight", "lm_head.weight"])
    assert weight_map[tied_pair[0]] != weight_map[tied_pair[1]]
    doc = expected_doc("pytorch_model.bin.index.json", "zip", None, loaded_all,
                       "one expected file for the whole set; the tied pair is stored once in each shard, so it is not 'shared' "
                       "(no storage spans two files) but listed in 'tied_across_files' (identical bytes)",
                       extra={"files": files, "shards": {fn: list(s.keys()) for fn, s in zip(files, shards)},
                              "tied_across_files": [tied_pair]})
    write_json("sharded/expected.json", doc)
    MANIFEST.append(("sharded/pytorch_model.bin.index.json", "index", "sharded/expected.json",
                     "transformers index {metadata.total_size, weight_map} (sorted keys, indent 2) naming both shards"))


# --- byte order (crafted) ---------------------------------------------------------------------

_STORAGE_SWAP = {  # storage class -> unit to byteswap (complex: each component)
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexFloatStorage": 4,
}


class _StorageProbe(pickle.Unpickler):
    """Reads a zip checkpoint's data.pkl without torch: records each storage key's class."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if module == "torch" and name.endswith("Storage"):
            return ("storage-class", name)
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda *a: ("tensor", a)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        kind, cls, key, _location, numel = pid
        assert kind == "storage" and cls[0] == "storage-class"
        self.storages[key] = (cls[1], numel)
        return ("storage", key)


def write_aligned_zip(path, records):
    """An uncompressed zip whose file data start at 64-byte offsets, padded with an 'FB' extra field in
    the local header only, DOS date 0: the layout torch's writer uses (torch also sets flag 0x08 and
    writes data descriptors; Python's zipfile does not)."""
    with open(path, "wb") as f:
        zf = zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED)
        for name, data in records:
            zi = zipfile.ZipInfo(name, date_time=(1980, 0, 0, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            start = f.tell() + 30 + len(name.encode()) + 4
            pad = (-start) % 64
            zi.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(zi, data)
            assert zi.header_offset + 30 + len(name.encode()) + len(zi.extra) == start + pad
            zi.extra = b""  # central directory without the padding, as torch writes it
        zf.close()


def craft_byteorder(name, tensors, order):
    tmp = io.BytesIO()
    torch.save(tensors, tmp)
    src = zipfile.ZipFile(io.BytesIO(tmp.getvalue()))
    infos = src.infolist()
    prefix = infos[0].filename.split("/")[0]  # "archive" for a buffer
    stem = os.path.splitext(os.path.basename(name))[0]
    probe = _StorageProbe(io.BytesIO(src.read(f"{prefix}/data.pkl")))
    probe.load()
    records = []
    for zi in infos:
        rel = zi.filename[len(prefix) + 1:]
        data = src.read(zi)
        if rel.startswith("data/") and order == "big":
            cls, _numel = probe.storages[rel[5:]]
            unit = _STORAGE_SWAP[cls]
            if unit > 1:
                data = np.frombuffer(data, dtype=f"<u{unit}").byteswap().tobytes()
        records.append((f"{stem}/{rel}", data))
        if rel == "data.pkl":
            records.append((f"{stem}/byteorder", order.encode()))
    write_aligned_zip(path_of(name), records)
    # torch 1.13 ignores the byteorder record: what it loads is the raw bytes of the file.
    loaded = torch.load(path_of(name))
    for n, t in tensors.items():
        lt = loaded[n]
        unit = {torch.complex64: 4}.get(t.dtype, t.element_size())
        raw = raw_bytes(lt)
        if order == "big" and unit > 1:
            raw = np.frombuffer(raw, dtype=f"<u{unit}").byteswap().tobytes()
        assert raw == raw_bytes(t), (name, n)
    return loaded


def case_byteorder():
    t = dtype_tensors()
    craft_byteorder("byteorder_big_zip.pt", t, "big")
    write_json("byteorder_big_zip.expected.json", expected_doc(
        "byteorder_big_zip.pt", "zip", None, t,
        "CRAFTED: torch 1.13 writes no byteorder record and cannot write big-endian. The generator took a torch zip, "
        "inserted <stem>/byteorder = 'big' after data.pkl (where torch>=2.1 writes it), byteswapped every storage "
        "(complex64 per float32 component) and rewrote the zip with 64-byte aligned data ('FB' extra field). "
        "Expected values are the logical (little-endian) values that torch>=2.1 loads; torch 1.13 ignores the record "
        "and loads swapped bytes, which the generator checked."))
    MANIFEST.append(("byteorder_big_zip.pt", "zip", "byteorder_big_zip.expected.json",
                     "CRAFTED big-endian zip: byteorder record 'big', storages byteswapped (per component for C64); converter must swap back"))
    t = dtype_tensors()
    craft_byteorder("byteorder_little_zip.pt", t, "little")
    write_json("byteorder_little_zip.expected.json", expected_doc(
        "byteorder_little_zip.pt", "zip", None, t,
        "CRAFTED like byteorder_big_zip.pt but with byteorder = 'little' and unswapped data: the layout torch>=2.1 writes; "
        "torch 1.13 loads it (checked)"))
    MANIFEST.append(("byteorder_little_zip.pt", "zip", "byteorder_little_zip.expected.json",
                     "CRAFTED zip with an explicit byteorder record 'little' (as torch>=2.1 writes), rewritten by Python zipfile"))


def protocol_tensors():
    seed(11)
    w = torch.randn(2, 3)
    base = torch.arange(5, dtype=torch.int64)
    return collections.OrderedDict([
        ("w", w), ("w_tied", w), ("view", base[1:3]), ("base", base),
        ("half", torch.tensor([1.0, -1.0], dtype=torch.float16)), ("label", torch.tensor(3)),
    ])


def case_protocols():
    for proto, fmt in ((1, "zip"), (1, "legacy"), (4, "zip"), (5, "zip"), (5, "legacy")):
        t = protocol_tensors()
        name = f"protocol{proto}_{fmt}.pt"
        (save_zip if fmt == "zip" else save_legacy)(t, name, pickle_protocol=proto)
        what = {1: "protocol 1 (no PROTO opcode; BINPERSID, EMPTY_DICT, MARK/SETITEMS, BINPUT)",
                4: "protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)",
                5: "protocol 5 (as 4; torch passes it straight to pickle)"}[proto]
        magic = {1: "; magic number as text LONG 'L119547037146038801333356L'", 4: "", 5: "; each stacked pickle framed (FRAME)"}[proto]
        record(name, fmt, t, f"{what}; tied pair and a view; {fmt}{magic if fmt == 'legacy' else ''}",
               notes="all the stacked pickles use this protocol" if fmt == "legacy" else "")
    for fmt in ("zip", "legacy"):
        t = protocol_tensors()
        name = f"protocol0_{fmt}.pt"
        (save_zip if fmt == "zip" else save_legacy)(t, name, pickle_protocol=0)
        try:
            torch.load(path_of(name))
            raise AssertionError("torch loaded a protocol-0 checkpoint")
        except AssertionError as e:
            if str(e) == "torch loaded a protocol-0 checkpoint":
                raise
        record_error(name, fmt, "protocol 0 persistent ids are text (PERSID str(tuple)); torch.load itself fails",
                     f"refusal: torch.save(pickle_protocol=0) succeeds but writes PERSID \"('storage', <class ...>, ...)\" strings; torch.load raises AssertionError; {fmt}",
                     notes="torch 1.13 saves with protocol 0 but cannot load the result")
        NOT_PRODUCED.append(f"protocol 0 ({fmt}): torch.save writes it but torch.load fails (PERSID is str(tuple)); kept as refusal fixture protocol0_{fmt}.pt")


class ScriptModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.register_buffer("scale", torch.full((3,), 2.0))

    def forward(self, x):
        return self.norm(self.lin(x)) * self.scale


def case_torchscript():
    seed(12)
    m = torch.jit.script(ScriptModel())
    m.save(path_of("torchscript_module.pt"))
    original = collections.OrderedDict((k, v.detach().clone()) for k, v in m.state_dict().items())

    def load(p):
        return torch.jit.load(p).state_dict()

    record("torchscript_module.pt", "torchscript", original,
           "TorchScript archive (torch.jit.script(...).save): data/ records before data.pkl, data.pkl of __torch__ objects (GLOBAL __torch__ ScriptModel, NEWOBJ, BUILD), constants.pkl, deflated (method 8) code/*.py and *.debug_pkl",
           load=load,
           notes="tensors = the module's parameters and buffers by state_dict name (as torch.jit.load(...).state_dict() gives). "
                 "code/ is TorchScript source that must never be read as code, compiled or executed; a converter may also refuse "
                 "TorchScript outright. code/*.debug_pkl records source file paths.")


def case_bare_pickle():
    obj = {"lr": 0.1, "name": "bare", "steps": [1, 2, 3], "nested": {"ok": True, "none": None}}
    with open(path_of("bare_pickle.pkl"), "wb") as f:
        f.write(pickle.dumps(obj, protocol=2))
    try:
        torch.load(path_of("bare_pickle.pkl"))
        torch_says = "loaded"
    except Exception as e:  # noqa: BLE001
        torch_says = f"{type(e).__name__}: {e}"
    assert torch_says.startswith("RuntimeError: Invalid magic number"), torch_says
    record_error("bare_pickle.pkl", "pickle", "not a torch checkpoint: a bare pickle without the legacy magic number, and no tensors",
                 "bare pickle (pickle.dumps protocol 2 of a dict of numbers/strings/lists): no zip, no legacy magic, no tensors",
                 notes=f"torch 1.13 torch.load: {torch_says}. A converter should say there is nothing to convert.")


class _Pid:
    def __init__(self, key):
        self.key = key


class _TarPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Pid):
            return str(obj.key)
        return None


def _p(obj):
    b = io.BytesIO()
    _TarPickler(b, protocol=2).dump(obj)
    return b.getvalue()


def case_tar():
    """torch 1.13 cannot write the tar format (PyTorch 0.1.1-0.1.9) but still reads it: craft one."""
    seed(13)
    w = torch.randn(2, 3)
    idx = torch.arange(5, dtype=torch.int64)
    storages = [  # key, location, storage type, flat data
        (1, "cpu", torch.FloatStorage, w.reshape(-1)),
        (2, "cpu", torch.LongStorage, idx),
    ]
    storage_views = [(3, 1, 2, 3)]  # storage 3 = elements 2..4 of storage 1
    tensors = [  # key, storage, type, size, stride, offset
        (101, 1, torch.FloatTensor, (2, 3), (3, 1), 0),
        (102, 2, torch.LongTensor, (5,), (1,), 0),
        (103, 1, torch.FloatTensor, (3, 2), (1, 3), 0),
        (104, 1, torch.FloatTensor, (3,), (1,), 3),
        (105, 3, torch.FloatTensor, (3,), (1,), 0),
    ]
    expected = collections.OrderedDict([
        ("weight", w), ("index", idx), ("weight_t", w.t()), ("row1", w[1]), ("view_storage", w.reshape(-1)[2:5]),
        ("weight_again", w),
    ])
    main = collections.OrderedDict([
        ("weight", _Pid(101)), ("index", _Pid(102)), ("weight_t", _Pid(103)), ("row1", _Pid(104)),
        ("view_storage", _Pid(105)), ("weight_again", _Pid(101)),
    ])
    sys_info = _p(dict(protocol_version=1000, little_endian=True, type_sizes=dict(short=2, int=4, long=8)))
    pickled = _p(main)
    st = io.BytesIO()
    st.write(_p(len(storages)))
    for key, loc, stype, data in storages:
        st.write(_p((key, loc, stype)))
        st.write(struct.pack("<q", data.numel()))
        st.write(raw_bytes(data))
    st.write(_p(storage_views))
    te = io.BytesIO()
    te.write(_p(len(tensors)))
    for key, sid, ttype, size, stride, off in tensors:
        te.write(_p((key, sid, ttype)))
        te.write(struct.pack("<i", len(size)) + b"\0\0\0\0")
        te.write(struct.pack(f"<{len(size)}q", *size))
        te.write(struct.pack(f"<{len(size)}q", *stride))
        te.write(struct.pack("<q", off))
    with open(path_of("tar_format.pt"), "wb") as f:
        with tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in (("sys_info", sys_info), ("pickle", pickled), ("tensors", te.getvalue()), ("storages", st.getvalue())):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                ti.mtime = 0
                ti.mode = 0o644
                ti.uname = ti.gname = ""
                tar.addfile(ti, io.BytesIO(data))
    record("tar_format.pt", "tar", expected,
           "CRAFTED old tar format (PAX tar: sys_info, pickle, tensors, storages): storage view list, tensor records with strides and offset, a tensor referenced twice",
           notes="torch 1.13 cannot write the tar format (PyTorch 0.1.1-0.1.9), so the generator writes it by hand from the reader in "
                 "torch/serialization.py; torch 1.13's torch.load reads it (checked). weight and weight_again are one tensor.")
    NOT_PRODUCED.append("tar format: torch 1.13 has no writer; tar_format.pt is crafted by the generator and verified with torch.load")


def case_refusals():
    q = torch.quantize_per_tensor(torch.tensor([0.0, 0.5, 1.0, 1.5]), 0.5, 0, torch.qint8)
    save_zip({"q": q}, "quantized_zip.pt")
    assert torch.load(path_of("quantized_zip.pt"))["q"].is_quantized
    record_error("quantized_zip.pt", "zip", "quantized tensor (_rebuild_qtensor, QInt8Storage)",
                 "refusal: quantize_per_tensor(qint8) -> torch._utils._rebuild_qtensor with QInt8Storage",
                 notes="torch loads it; safetensors has no quantized dtype")
    c = torch.tensor([1 + 1j, 2 - 2j], dtype=torch.complex128)
    save_zip({"c": c}, "complex128_zip.pt")
    assert torch.load(path_of("complex128_zip.pt"))["c"].dtype == torch.complex128
    record_error("complex128_zip.pt", "zip", "complex128 (ComplexDoubleStorage) has no safetensors dtype",
                 "refusal: complex128 tensor (ComplexDoubleStorage)", notes="torch loads it")
    s = torch.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
    save_zip({"s": s}, "sparse_zip.pt")
    assert torch.load(path_of("sparse_zip.pt"))["s"].is_sparse
    record_error("sparse_zip.pt", "zip", "sparse COO tensor (_rebuild_sparse_tensor)",
                 "refusal: sparse COO tensor -> torch._utils._rebuild_sparse_tensor(layout, (indices, values, size))",
                 notes="torch loads it; a converter rejects it (or would have to densify)")


class RunConfig:
    """A user class: a checkpoint holding one names `__main__.RunConfig`, which no allowlist knows."""

    def __init__(self):
        self.lr = 0.1
        self.name = "run"


def case_unknown_class():
    sd = collections.OrderedDict([("w", torch.arange(4.0)), ("b", torch.ones(2, dtype=torch.float16))])
    ckpt = {"state_dict": sd, "config": RunConfig()}
    save_zip(ckpt, "unknown_class.pt")
    record("unknown_class.pt", "zip", ckpt,
           "a user class (__main__.RunConfig) beside the weights: refused by default, converted with --skip-unknown",
           key="state_dict", notes="the class is only a name to a data-only reader; --skip-unknown keeps it as an inert placeholder")
    exp = path_of(expected_name("unknown_class.pt"))
    with open(exp) as f:
        data = json.load(f)
    data["needs_skip_unknown"] = True
    write_json(expected_name("unknown_class.pt"), data)


def case_archive_prefix():
    t = collections.OrderedDict([("x", torch.arange(3, dtype=torch.float32)), ("y", torch.tensor([[1, 2]], dtype=torch.int8))])
    buf = io.BytesIO()
    torch.save(t, buf)
    with open(path_of("archive_prefix_zip.pt"), "wb") as f:
        f.write(buf.getvalue())
    record("archive_prefix_zip.pt", "zip", t, "zip saved to a buffer: records under 'archive/' rather than the file stem",
           notes="torch names the top-level folder 'archive' when saving to a file object")


# --- demo sample --------------------------------------------------------------------------------


class Attention(nn.Module):
    def __init__(self, dim, ctx):
        super().__init__()
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.register_buffer("bias", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)).view(1, 1, ctx, ctx))


class MLP(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.c_fc = nn.Linear(dim, 2 * dim)
        self.c_proj = nn.Linear(2 * dim, dim)


class Block(nn.Module):
    def __init__(self, dim, ctx):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, ctx)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim)


class Transformer(nn.Module):
    def __init__(self, vocab, dim, ctx, layers):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(ctx, dim)
        self.h = nn.ModuleList([Block(dim, ctx) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)


class TinyGPT(nn.Module):
    def __init__(self, vocab=256, dim=48, ctx=32, layers=2):
        super().__init__()
        self.transformer = Transformer(vocab, dim, ctx, layers)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.transformer.wte.weight


def case_sample():
    seed(14)
    m = TinyGPT()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("weight") and p.dim() == 2:
                p.normal_(0.0, 0.02)
    sd = m.state_dict()
    os.makedirs(path_of("sample"), exist_ok=True)
    torch.save(sd, path_of("sample/pytorch_model.bin"))
    record("sample/pytorch_model.bin", "zip", sd,
           "demo sample: tiny GPT-2-like state_dict (2 blocks, F32 weights, BOOL causal-mask buffers), lm_head.weight tied to transformer.wte.weight",
           with_hex=False,
           notes="tensors carry sha256 of their raw bytes instead of hex, to keep this file small")


# ---------------------------------------------------------------------------------------------


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    torch.set_num_threads(1)
    case_dtypes()
    case_shapes()
    case_views()
    case_strides()
    case_tied()
    case_state_dict()
    case_parameters()
    case_training()
    case_sharded()
    case_byteorder()
    case_protocols()
    case_torchscript()
    case_tar()
    case_bare_pickle()
    case_refusals()
    case_archive_prefix()
    case_unknown_class()
    case_sample()
    NOT_PRODUCED.append("big-endian zip: torch 1.13 writes no byteorder record (added in torch 2.1); byteorder_big_zip.pt is crafted")

    with open(path_of("MANIFEST.tsv"), "w") as f:
        f.write(f"# PyTorch checkpoint fixtures; regenerate with: /usr/bin/python3 scripts/make-torch-fixtures.py (torch {TORCH_VERSION})\n")
        f.write("file\tformat\texpected\texercises\n")
        for row in MANIFEST:
            assert all("\t" not in c and "\n" not in c for c in row), row
            f.write("\t".join(row) + "\n")
        for line in NOT_PRODUCED:
            f.write(f"# not produced by torch {TORCH_VERSION}: {line}\n")

    total = 0
    for dirpath, _dirs, files in os.walk(OUT):
        for fn in files:
            size = os.path.getsize(os.path.join(dirpath, fn))
            total += size
            limit = 400_000 if fn == "pytorch_model.bin" and dirpath.endswith("sample") else 100_000
            assert size < limit, (fn, size)
    print(f"{len(MANIFEST)} manifest rows, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
