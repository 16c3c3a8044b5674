#!/usr/bin/python3
"""Write the whole-model fixtures in test/fixtures/torch-modules/: `torch.save(model)` files (a module
tree pickled as objects), and, next to each, the values `model.state_dict()` gives.

Run with the Debian Python that has torch (python3-torch, 1.13):

    /usr/bin/python3 scripts/make-module-fixtures.py

It reuses the helpers of make-torch-fixtures.py (same expected-file format, same determinism rules:
fixed seeds, PYTHONHASHSEED=0, fixed legacy storage keys) and adds to each expected file:

    "module_classes": [classes of the module objects, in pre-order of first meeting]
    "left_out": [paths a converter lists as not converted (plain tensor attributes, non-persistent buffers, …)]
    "needs_skip_unknown": true     (the file holds a class that is not a module: refused by default)

The expected tensors are `model.state_dict()` of the model torch.load returns, checked against the
state dict of the model that was saved. Nothing here is loaded that is meant to be refused: the
dangerous fixture is only written.
"""

import collections
import importlib.util
import os
import shutil
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("mtf", os.path.join(HERE, "make-torch-fixtures.py"))
mtf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mtf)  # re-executes this script with PYTHONHASHSEED=0 first

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

OUT = os.path.join(mtf.ROOT, "test", "fixtures", "torch-modules")
mtf.OUT = OUT  # the helpers write beside OUT
MANIFEST = []


def class_name(m):
    return f"{type(m).__module__}.{type(m).__qualname__}"


def classes_met(model):
    """Module classes in the order a pre-order walk of _modules first meets them."""
    seen = []
    for m in model.modules():
        if class_name(m) not in seen:
            seen.append(class_name(m))
    return seen


def record_module(name, fmt, saved, exercises, key=None, notes="", left_out=(), needs_skip_unknown=False, load=None):
    """Load `name` with torch, compare the loaded model's state_dict with the saved one's, write X.expected.json."""
    loaded_obj = load(mtf.path_of(name)) if load else torch.load(mtf.path_of(name))
    model = mtf.select(loaded_obj, key)
    original = mtf.select(saved, key)
    assert isinstance(model, nn.Module), type(model)
    sd = model.state_dict()
    mtf.check_same(sd, original.state_dict(), name)
    other = None
    if key is not None:
        other = [str(k) for k in loaded_obj.keys() if k != key.split(".")[0]]
    tensors = collections.OrderedDict((n, sd[n]) for n in sd.keys())
    if fmt == "legacy":
        notes = (notes + "; " if notes else "") + mtf.LEGACY_NOTE
    extra = {"module_classes": classes_met(model), "left_out": list(left_out)}
    if needs_skip_unknown:
        extra["needs_skip_unknown"] = True
    exp = mtf.expected_name(name)
    mtf.write_json(exp, mtf.expected_doc(os.path.basename(name), fmt, key, tensors, notes, other, extra=extra))
    MANIFEST.append((name, fmt, exp, exercises))


# ---------------------------------------------------------------------------------------------
# Models


class Head(nn.Module):
    def __init__(self, emb):
        super().__init__()
        self.proj = nn.Linear(4, 6, bias=False)  # bias is None: not in the state_dict
        self.proj.weight = emb.weight  # tied to the embedding


class Net(nn.Module):
    """Nested modules of every container kind, BatchNorm buffers, tied and shared weights, buffers
    that are None or non-persistent, and attributes that are not in the state_dict."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(6, 4)
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)])
        self.heads = nn.ModuleDict({"cls": Head(self.emb), "reg": nn.Linear(2, 1)})
        self.shared = self.blocks[0]  # one submodule under two names: both are in the state_dict
        self.scale = nn.Parameter(torch.tensor([0.5, 2.0], dtype=torch.float64))
        self.register_parameter("unused", None)
        self.register_buffer("steps", torch.tensor([7], dtype=torch.int32))
        self.register_buffer("cache", torch.arange(3.0), persistent=False)
        self.register_buffer("missing", None)
        self.stride = torch.tensor([8.0, 16.0])  # a plain tensor attribute: not in the state_dict
        self.eps = 1e-5
        self.nothing = None


def make_net(s):
    mtf.seed(s)
    net = Net()
    net.train()
    with torch.no_grad():
        net.features(torch.randn(2, 1, 5, 5))  # BatchNorm running stats and num_batches_tracked move
    return net


NET_LEFT_OUT = ["stride", "cache"]


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.bn = nn.BatchNorm1d(2)
        self.register_buffer("window", torch.ones(2), persistent=False)


class Config:
    """A plain user class (not a module) held by a module: needs --skip-unknown."""

    def __init__(self):
        self.depth = 2
        self.lr = 0.01


class WithConfig(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.cfg = Config()


class Dangerous(nn.Module):
    """A module holding os.system as an attribute: the pickle names posix.system."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)
        self.hook = os.system


PACKAGE = {
    "tinypkg/__init__.py": "",
    "tinypkg/models.py": textwrap.dedent(
        """
        import torch
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm = nn.LayerNorm(3)
                self.fc = nn.Linear(3, 3)


        class TinyNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.Sequential(Block(), Block())
                self.out = nn.Linear(3, 1, bias=False)
        """
    ),
}


def make_package(root):
    for rel, text in PACKAGE.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    sys.path.insert(0, root)
    import tinypkg.models  # noqa: F401  (the generator's own package, written just above)
    return sys.modules["tinypkg.models"]


# ---------------------------------------------------------------------------------------------
# Cases


def case_main():
    net = make_net(21)
    mtf.save_zip(net, "module_main.pt")
    record_module("module_main.pt", "zip", net,
                  "torch.save(model) of a __main__ class: Sequential/ModuleList/ModuleDict, Conv2d+BatchNorm2d buffers, "
                  "tied embedding/head, a submodule under two names, None parameter/bias/buffer, a non-persistent buffer, a tensor attribute",
                  left_out=NET_LEFT_OUT,
                  notes="expected tensors are model.state_dict() of the loaded model")


def case_legacy():
    mtf.seed(22)
    model = Small()
    with torch.no_grad():
        model.bn(torch.randn(4, 2))
    mtf.save_legacy(model, "module_legacy.pt")
    record_module("module_legacy.pt", "legacy", model,
                  "torch.save(model) in the legacy format (_use_new_zipfile_serialization=False): each module class is a "
                  "('module', cls, file, source) persistent id; BatchNorm1d buffers, a non-persistent buffer",
                  left_out=["window"],
                  notes="expected tensors are model.state_dict() of the loaded model; the file carries the source of each module class "
                        "and the generator's absolute path, so it changes if the checkout moves")


def case_package():
    tmp = tempfile.mkdtemp(prefix="tinypkg-")
    try:
        models = make_package(tmp)
        mtf.seed(23)
        model = models.TinyNet()
        mtf.save_zip(model, "module_package.pt")
        record_module("module_package.pt", "zip", model, "torch.save(model) of a class from a user package (tinypkg.models.TinyNet), nested user modules",
                      notes="tinypkg is written by the generator in a temporary folder and imported from there")
    finally:
        shutil.rmtree(tmp)
        sys.path.remove(tmp)


def case_yolo_like():
    net = make_net(24)
    opt = torch.optim.Adam([p for p in net.parameters()], lr=0.001)
    loss = sum((p.float() ** 2).sum() for p in net.parameters())
    loss.backward()
    opt.step()
    ckpt = {"epoch": 3, "best_fitness": 1.0, "lr": 0.001, "model": net, "optimizer": opt.state_dict(), "date": "2026-01-01"}
    mtf.save_zip(ckpt, "module_yolo_like.pt")
    record_module("module_yolo_like.pt", "zip", ckpt,
                  "YOLO-like training checkpoint: {'epoch': 3, 'best_fitness': 1.0, 'lr': 0.001, 'model': <Module>, 'optimizer': Adam state_dict, 'date'}",
                  key="model", left_out=["stride", "cache", "epoch", "best_fitness", "lr", "optimizer", "date"],
                  notes="the weights are found under 'model' without --key")


def case_single():
    mtf.seed(27)
    model = nn.Linear(3, 1, bias=False)
    mtf.save_zip(model, "module_single.pt")
    record_module("module_single.pt", "zip", model, "torch.save(nn.Linear(3, 1, bias=False)): a torch class at the root, one tensor, the None bias skipped")


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
        self.first = self.seq[0]


def case_protocols():
    for protocol in (1, 4):
        mtf.seed(30 + protocol)
        model = Pair()
        name = f"module_protocol{protocol}.pt"
        mtf.save_zip(model, name, pickle_protocol=protocol)
        how = "copyreg._reconstructor(cls, object, None) + BUILD" if protocol == 1 else "STACK_GLOBAL, MEMOIZE, FRAME"
        record_module(name, "zip", model, f"torch.save(model, pickle_protocol={protocol}): instances made by {how}; a submodule under two names")


def case_needs_skip():
    mtf.seed(25)
    model = WithConfig()
    mtf.save_zip(model, "module_with_config.pt")
    record_module("module_with_config.pt", "zip", model,
                  "a module holding a plain user object (__main__.Config): the module class alone would be read, Config needs --skip-unknown",
                  needs_skip_unknown=True, notes="refused without --skip-unknown, naming __main__.Config")


def case_dangerous():
    mtf.seed(26)
    model = Dangerous()
    mtf.save_zip(model, "module_dangerous.pt")
    exp = mtf.expected_name("module_dangerous.pt")
    mtf.write_json(exp, {"source": "module_dangerous.pt", "torch": mtf.TORCH_VERSION, "format": "zip", "key": None,
                         "expect_error": "the module holds os.system: the pickle names posix.system",
                         "notes": "written, never loaded"})
    MANIFEST.append(("module_dangerous.pt", "zip", exp, "torch.save(model) of a module whose attribute is os.system: refused, with or without --skip-unknown"))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    torch.set_num_threads(1)
    case_main()
    case_legacy()
    case_package()
    case_yolo_like()
    case_single()
    case_protocols()
    case_needs_skip()
    case_dangerous()
    with open(mtf.path_of("MANIFEST.tsv"), "w") as f:
        f.write(f"# whole-model fixtures; regenerate with: /usr/bin/python3 scripts/make-module-fixtures.py (torch {mtf.TORCH_VERSION})\n")
        f.write("file\tformat\texpected\texercises\n")
        for row in MANIFEST:
            assert all("\t" not in c and "\n" not in c for c in row), row
            f.write("\t".join(row) + "\n")
    total = 0
    for fn in os.listdir(OUT):
        size = os.path.getsize(os.path.join(OUT, fn))
        assert size < 100_000, (fn, size)
        total += size
    print(f"{len(MANIFEST)} manifest rows, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
