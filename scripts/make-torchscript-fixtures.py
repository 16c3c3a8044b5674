#!/usr/bin/python3
"""Write the TorchScript fixtures of the format loop: test/fixtures/formats/pytorch/torchscript_*.pt,
archives written by torch.jit.save (scripted, traced, frozen, quantized modules; one by _save_for_lite_interpreter), and beside each
`<file>.expected.json` (see test/formats.test.ts and scripts/make-format-fixtures.py for the shape).

Run with Debian's torch (python3-torch 1.13):

    /usr/bin/python3 scripts/make-torchscript-fixtures.py

The expected tensors are what torch itself reads back, in order:
- `torch.jit.load(f).state_dict()`, name by name (parameters, then buffers, then submodules, as torch
  lists them; a tied parameter under each of its names);
- then the tensors of the archive's constants.pkl, named `constants.<index>` (the state_dict does not
  list them: a frozen module has only these). Their oracle is torch.load itself: the constants.pkl
  and constants/ records copied into a plain torch zip as data.pkl and data/, loaded by torch.load.
Quantized modules (packed parameters, custom classes set by __setstate__) are refused: expected error.

The SHA-256 is that of each tensor's t.contiguous() bytes (bf16 as int16, bool as uint8). Seeded: the values
are the same on every run, the archives' bytes are not (zip times, the numbers of mangled class names).
"""

import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile

import torch
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "formats", "pytorch")
PREFIX = "torchscript_"

TORCH_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
                torch.bool: "BOOL"}


def torch_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    if t.dtype == torch.bool:
        return t.view(torch.uint8).numpy().tobytes()
    return t.numpy().tobytes()


def entry(name, t):
    layout = "stored" if t.is_contiguous() else "strided"
    return {"name": name, "dtype": TORCH_DTYPES[t.dtype], "shape": list(t.shape),
            "sha256": hashlib.sha256(torch_bytes(t)).hexdigest(), "encoding": {"layout": layout}}


def write_expected(fname, body):
    head = {k: v for k, v in body.items() if k != "tensors"}
    text = json.dumps(head)
    if "tensors" in body:
        rows = ",\n".join("  " + json.dumps(t) for t in body["tensors"])
        text = text[:-1] + ', "tensors": [\n' + rows + "\n]}"
    with open(os.path.join(OUT, fname + ".expected.json"), "w") as f:
        f.write(text + "\n")


def constants_by_torch_load(path):
    """constants.pkl read by torch.load: its pickle and records copied into a plain torch zip."""
    z = zipfile.ZipFile(path)
    names = z.namelist()
    prefix = names[0].split("/")[0]
    if f"{prefix}/constants.pkl" not in names:
        return ()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        out.writestr("archive/data.pkl", z.read(f"{prefix}/constants.pkl"))
        for n in names:
            if n.startswith(f"{prefix}/constants/"):
                out.writestr("archive/data/" + n[len(f"{prefix}/constants/"):], z.read(n))
        out.writestr("archive/version", "3\n")
    buf.seek(0)
    return torch.load(buf)


def save(fname, module, exercises, error=None, lite=False):
    path = os.path.join(OUT, fname)
    if lite:
        module._save_for_lite_interpreter(path)
    else:
        torch.jit.save(module, path)
    if error:
        write_expected(fname, {"format": "pytorch", "producer": f"torch {torch.__version__} (torch.jit.save)", "exercises": exercises, "error": error})
        return
    loaded = torch.jit.load(path)
    rows = [entry(name, t) for name, t in loaded.state_dict().items()]
    consts = constants_by_torch_load(path)
    for i, c in enumerate(consts):
        if isinstance(c, torch.Tensor):
            rows.append(entry(f"constants.{i}", c))
    write_expected(fname, {"format": "pytorch", "producer": f"torch {torch.__version__} (torch.jit.save)", "exercises": exercises, "tensors": rows})


class Block(torch.nn.Module):
    """A custom submodule with a buffer, a non-persistent buffer, a plain tensor attribute and non-tensor attributes."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 3, bias=False)
        self.register_buffer("scale", torch.tensor([0.5, 2.0, -1.0]))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.offset = torch.tensor([7.0])
        self.name = "block"
        self.depth = 2
        self.ratios = [0.25, 0.75]

    def forward(self, x):
        return self.proj(x) * self.scale + self.offset + self.cache.sum()


class Nested(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3))
        self.layers = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 3, bias=False)])
        self.heads = torch.nn.ModuleDict({"left": torch.nn.Linear(3, 2), "right": Block()})
        self.norm = torch.nn.LayerNorm(3)

    def forward(self, x):
        x = self.seq(x)
        for layer in self.layers:
            x = layer(x)
        return self.heads["left"](self.heads["right"](self.norm(x)))


class Shared(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Linear(4, 4, bias=False)
        self.inner = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
        self.out = torch.nn.Linear(4, 4, bias=False)
        self.out.weight = self.embed.weight
        self.inner[0].bias = torch.nn.Parameter(torch.arange(4.0))

    def forward(self, x):
        return self.out(self.inner(self.embed(x)))


class SharedModule(torch.nn.Module):
    """One submodule under two names, and a ParameterList (parameters named 0, 1)."""

    def __init__(self):
        super().__init__()
        lin = torch.nn.Linear(2, 2)
        self.first = lin
        self.second = lin
        self.extra = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.full((3,), -0.5))])

    def forward(self, x):
        return self.second(self.first(x)) + self.extra[0].sum()


class Attributes(torch.nn.Module):
    """Typed attributes TorchScript pickles with torch.jit._pickle (restore_type_tag, build_intlist, build_tensorlist)."""

    table: Dict[str, torch.Tensor]
    sizes: List[int]
    pair: Tuple[int, str]
    maybe: Optional[torch.Tensor]
    tensors: List[torch.Tensor]

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.table = {"a": torch.ones(2), "b": torch.zeros(1)}
        self.sizes = [1, 2, 3]
        self.pair = (4, "x")
        self.maybe = None
        self.tensors = [torch.arange(3.0)]
        self.flag = True
        self.rate = 0.5

    def forward(self, x):
        return self.lin(x) + self.table["a"] + self.tensors[0][:2] + float(self.sizes[0])


class WithConstants(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x) * torch.tensor([1.5, -2.0, 0.25]) + torch.tensor([[1, 2, 3]], dtype=torch.int64)


class Dtypes(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.f16 = torch.nn.Parameter(torch.tensor([0.0, -0.0, 1.0, 65504.0, 6e-8, float("inf")], dtype=torch.float16))
        self.b16 = torch.nn.Parameter(torch.tensor([[1.0, -2.5], [3e38, float("-inf")]], dtype=torch.bfloat16))
        self.f64 = torch.nn.Parameter(torch.tensor([float("nan"), 5e-324], dtype=torch.float64))
        self.register_buffer("steps", torch.tensor([0, -1, 2**63 - 1, -(2**63)], dtype=torch.int64))
        self.register_buffer("ints", torch.tensor([[0, 2**31 - 1], [-(2**31), 7]], dtype=torch.int32))
        self.register_buffer("small", torch.tensor([0, 127, -128], dtype=torch.int8))
        self.register_buffer("u8", torch.tensor([0, 1, 255], dtype=torch.uint8))
        self.register_buffer("mask", torch.tensor([True, False, True]))
        self.register_buffer("transposed", torch.arange(6.0).reshape(2, 3).t())

    def forward(self, x):
        return x * self.f16.float().sum() + self.b16.float().sum() + self.mask.sum() + self.transposed.sum()


class QConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.quantization.QuantStub()
        self.conv = torch.nn.Conv2d(2, 2, 1)
        self.dequant = torch.quantization.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.conv(self.quant(x)))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.startswith(PREFIX):
            os.remove(os.path.join(OUT, f))
    torch.manual_seed(13)
    x3 = torch.randn(4, 3)
    lin = torch.nn.Linear(3, 2)
    save(PREFIX + "linear_script.pt", torch.jit.script(lin), "torch.jit.script of a Linear")
    save(PREFIX + "linear_trace.pt", torch.jit.trace(lin, x3), "torch.jit.trace of a Linear")
    nested = Nested()
    nested.seq[2].running_mean.copy_(torch.tensor([0.1, 0.2, 0.3]))
    nested.seq[2].num_batches_tracked.fill_(5)
    nested.eval()
    save(PREFIX + "nested_script.pt", torch.jit.script(nested),
         "scripted: Sequential, ModuleList, ModuleDict, a custom submodule, BatchNorm buffers, a non-persistent buffer (TorchScript lists it), a tensor attribute (not listed), non-tensor attributes")
    save(PREFIX + "nested_trace.pt", torch.jit.trace(nested, x3), "the same module traced")
    shared = Shared()
    save(PREFIX + "shared_script.pt", torch.jit.script(shared), "a parameter shared by two modules (listed under both names)")
    save(PREFIX + "shared_trace.pt", torch.jit.trace(shared, torch.randn(2, 4)), "the same module traced")
    save(PREFIX + "constants_trace.pt", torch.jit.trace(WithConstants(), x3), "tensor constants in the traced code: constants.pkl and constants/ records, named constants.<index>")
    save(PREFIX + "lite_trace.pt", torch.jit.trace(WithConstants(), x3), "_save_for_lite_interpreter: bytecode.pkl beside data.pkl, constants in constants/<key>.storage records", lite=True)
    frozen = torch.jit.freeze(torch.jit.script(nested))
    save(PREFIX + "frozen.pt", frozen, "torch.jit.freeze: no state_dict, every weight a constant (constants.<index>)")
    save(PREFIX + "dtypes_script.pt", torch.jit.script(Dtypes()), "float16, bfloat16, float64, int64, int32, int8, uint8, bool parameters and buffers; a transposed buffer")
    dyn = torch.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(4, 3)), {torch.nn.Linear}, dtype=torch.qint8)
    save(PREFIX + "quantized_dynamic.pt", torch.jit.script(dyn), "dynamic quantized Linear: LinearPackedParamsBase refused by name", error="UnsupportedTensor")
    qc = QConv().eval()
    qc.qconfig = torch.quantization.get_default_qconfig("fbgemm")
    prepared = torch.quantization.prepare(qc)
    prepared(torch.randn(1, 2, 3, 3))
    static = torch.quantization.convert(prepared)
    save(PREFIX + "quantized_conv.pt", torch.jit.script(static), "static quantized Conv2d: Conv2dPackedParamsBase refused by name", error="UnsupportedTensor")
    save(PREFIX + "shared_module_script.pt", torch.jit.script(SharedModule()), "one submodule under two names (listed under both), a ParameterList")
    save(PREFIX + "attributes_script.pt", torch.jit.script(Attributes()), "typed non-tensor and tensor-holding attributes (Dict[str, Tensor], List[int], List[Tensor], a tuple, None, bool, float): only the Linear's weights are in the state_dict")
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
