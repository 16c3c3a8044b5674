#!/usr/bin/python3
"""Write the Keras fixtures in test/fixtures/formats/keras/ and, beside each, what h5py / numpy read.

Run with Debian's h5py and numpy (python3-h5py, python3-numpy):

    /usr/bin/python3 scripts/make-keras-fixtures.py

Keras itself is not installed here: each file is laid out exactly as Keras (or transformers) writes
it, following their source (keras-team/keras keras/src/saving/saving_lib.py: H5IOStore, NpzIOStore,
_save_state; keras/src/legacy/saving/legacy_h5_format.py: save_model_to_hdf5,
save_weights_to_hdf5_group, save_attributes_to_hdf5_group; Keras 1 and 2's keras/engine/saving.py and
topology.py of the same shape; transformers' modeling_tf_utils.py, whose save_pretrained calls Keras 2's
save_weights). Files are small (KBs); values come from fixed seeds.

For a fixture `X` it writes `X.expected.json`:

    {"format": "keras", "producer": "h5py <v> (HDF5 <v>), numpy <v>", "exercises": "..",
     "tensors": [{"name": .., "dtype": "F32", "shape": [..], "sha256": ".."}]}

or {"format": "keras", "error": "<code>"} for files that must be refused. The oracle is h5py: every
expected tensor is the dataset read back by h5py (`ds[()]`), its C-order little-endian bytes hashed.
The names are written out here by hand, as README's "### Keras" names them, not computed by a second
implementation of the naming rules.
"""

import hashlib
import io
import json
import os
import re
import zipfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "formats", "keras")
PRODUCER = f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), numpy {np.__version__}"
ST = {("b", 1): "BOOL", ("i", 1): "I8", ("i", 2): "I16", ("i", 4): "I32", ("i", 8): "I64",
      ("u", 1): "U8", ("u", 2): "U16", ("u", 4): "U32", ("u", 8): "U64",
      ("f", 2): "F16", ("f", 4): "F32", ("f", 8): "F64"}
RNG = np.random.default_rng(12)
# A fixed date in metadata.json and the zip members, so that the files are byte-stable.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def weights(*shape, dtype="<f4"):
    return RNG.standard_normal(shape).astype(dtype)


def tensor_from(ds, name):
    """The expected tensor: the dataset as h5py reads it, C-order little-endian (bfloat16: its 2-byte pattern)."""
    a = ds[()]
    a = np.asarray(a)
    if ds.attrs.get("dtype") in ("bfloat16", b"bfloat16"):
        dtype = "BF16"
        raw = np.ascontiguousarray(a).view("<u2").tobytes()
    else:
        a = np.ascontiguousarray(a)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        dtype = ST[(a.dtype.kind, a.dtype.itemsize)]
        raw = a.tobytes()
    return {"name": name, "dtype": dtype, "shape": list(a.shape), "sha256": hashlib.sha256(raw).hexdigest()}


def write_expected(fname, body):
    head = {"format": "keras", "producer": PRODUCER, **{k: v for k, v in body.items() if k != "tensors"}}
    text = json.dumps(head, indent=1)
    if "tensors" in body:
        rows = ",\n".join("  " + json.dumps(t) for t in body["tensors"])
        text = text[:-2] + ',\n "tensors": [\n' + rows + "\n ]\n}"
    with open(os.path.join(OUT, fname + ".expected.json"), "w") as f:
        f.write(text + "\n")


def expect_h5(fname, exercises, names_to_paths, h5_bytes=None):
    """Expected tensors from the file (or the bytes of an inner .h5): name → dataset path, in order."""
    f = h5py.File(io.BytesIO(h5_bytes) if h5_bytes is not None else os.path.join(OUT, fname), "r")
    tensors = [tensor_from(f[p], n) for n, p in names_to_paths]
    f.close()
    write_expected(fname, {"exercises": exercises, "tensors": tensors})


def strings(values, fixed):
    """An attribute array of names as Keras writes it: fixed-length bytes (Keras 1/2) or variable-length str (Keras 3)."""
    if fixed:
        return np.array([v.encode("utf8") for v in values])
    return np.array(values, dtype=h5py.string_dtype())


def config_json(class_name, name, layers):
    return json.dumps({"class_name": class_name, "config": {"name": name, "layers": layers}})


def layer(cls, name, **config):
    return {"class_name": cls, "config": {"name": name, **config}}


# ---------------------------------------------------------------------------------------------------
# Legacy HDF5 (model.save('x.h5') and save_weights('x.h5'))
# ---------------------------------------------------------------------------------------------------

def legacy_layer_groups(g, layers, fixed, split=False):
    """save_weights_to_hdf5_group: layer_names on `g`, a group per layer (sorted by name), weight_names on each,
    datasets created at the weight's name (a name with '/' makes groups)."""
    names = [n for n, _ in layers]
    if split:
        # save_attributes_to_hdf5_group, past HDF5_OBJECT_HEADER_LIMIT: np.array_split into name0, name1, …
        for i, part in enumerate(np.array_split(np.array(names), 2)):
            g.attrs[f"layer_names{i}"] = strings(list(part), fixed)
    else:
        g.attrs["layer_names"] = strings(names, fixed)
    for lname, ws in sorted(layers, key=lambda x: x[0]):
        lg = g.create_group(lname)
        wnames = [w for w, _ in ws]
        if split and len(wnames) > 1:
            for i, part in enumerate(np.array_split(np.array(wnames), 2)):
                lg.attrs[f"weight_names{i}"] = strings(list(part), fixed)
        else:
            # An empty list is written as np.asarray([]): a float64 array of length 0.
            lg.attrs["weight_names"] = strings(wnames, fixed) if wnames else np.array([])
        for wname, value in ws:
            lg.create_dataset(wname, data=value)


def keras1():
    fname = "keras1-model.h5"
    layers = [
        ("dense_1", [("dense_1_W", weights(4, 3)), ("dense_1_b", weights(3))]),
        ("dropout_1", []),
        ("dense_2", [("dense_2_W", weights(3, 2)), ("dense_2_b", weights(2))]),
    ]
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["backend"] = b"theano"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": [
            layer("Dense", "dense_1", output_dim=3, input_dim=4), layer("Dropout", "dropout_1", p=0.5),
            layer("Dense", "dense_2", output_dim=2)]}).encode()
        legacy_layer_groups(f.create_group("model_weights"), layers, fixed=True)
    expect_h5(fname, "Keras 1 model.save: Theano-style weight names (dense_1_W), a layer without weights",
              [(w, f"model_weights/{l}/{w}") for l, ws in layers for w, _ in ws])


def keras2():
    fname = "keras2-model.h5"
    layers = [
        ("conv2d", [("conv2d/kernel:0", weights(3, 3, 2, 4)), ("conv2d/bias:0", weights(4))]),
        ("batch_normalization", [("batch_normalization/gamma:0", weights(4)), ("batch_normalization/beta:0", weights(4)),
                                 ("batch_normalization/moving_mean:0", weights(4)), ("batch_normalization/moving_variance:0", weights(4))]),
        ("flatten", []),
        ("dense", [("dense/kernel:0", weights(16, 3, dtype=">f4")), ("dense/bias:0", weights(3, dtype="<f8"))]),
        ("dense_1", [("dense_1/kernel:0", weights(3, 2, dtype="<f2"))]),
    ]
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = config_json("Sequential", "sequential", [
            layer("Conv2D", "conv2d", filters=4), layer("BatchNormalization", "batch_normalization"), layer("Flatten", "flatten"),
            layer("Dense", "dense", units=3), layer("Dense", "dense_1", units=2, use_bias=False)]).encode()
        f.attrs["training_config"] = json.dumps({"optimizer_config": {"class_name": "Adam", "config": {"lr": 0.001}}, "loss": "mse"}).encode()
        mw = f.create_group("model_weights")
        legacy_layer_groups(mw, layers, fixed=True)
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = b"2.2.4"
        ow = f.create_group("optimizer_weights")
        ow.attrs["weight_names"] = strings(["Adam/iterations:0", "training/Adam/Variable:0"], True)
        ow.create_dataset("Adam/iterations:0", data=np.int64(7))
        ow.create_dataset("training/Adam/Variable:0", data=weights(3, 3, 2, 4))
    expect_h5(fname, "Keras 2 model.save: kernel:0 names, BatchNormalization, big-endian, float64 and float16 weights, optimizer weights left out",
              [(w[:-2], f"model_weights/{l}/{w}") for l, ws in layers for w, _ in ws])


def keras3_legacy():
    fname = "keras3-model.h5"
    layers = [
        ("embedding", [("functional/embedding/embeddings", weights(10, 4))]),
        ("layer_normalization", [("functional/layer_normalization/gamma", weights(4)), ("functional/layer_normalization/beta", weights(4))]),
        ("dense", [("functional/dense/kernel", weights(4, 2)), ("functional/dense/bias", weights(2))]),
    ]
    with h5py.File(os.path.join(OUT, fname), "w", libver="latest") as f:
        f.attrs["keras_version"] = "3.11.3"
        f.attrs["backend"] = "jax"
        f.attrs["model_config"] = json.dumps({"module": "keras", "class_name": "Functional", "config": {"name": "functional", "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "input_layer"}, "name": "input_layer"},
            {"module": "keras.layers", "class_name": "Embedding", "config": {"name": "embedding"}, "name": "embedding"},
            {"module": "keras.layers", "class_name": "LayerNormalization", "config": {"name": "layer_normalization"}, "name": "layer_normalization"},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense"}, "name": "dense"}]}})
        mw = f.create_group("model_weights")
        legacy_layer_groups(mw, [("input_layer", [])] + layers, fixed=False)
        mw.attrs["backend"] = "jax"
        mw.attrs["keras_version"] = "3.11.3"
        mw.create_group("top_level_model_weights").attrs["weight_names"] = np.array([])
    expect_h5(fname, "Keras 3 model.save('x.h5') (libver latest): variable paths without :0, the model's name dropped, top_level_model_weights empty",
              [(w.split("/", 1)[1], f"model_weights/{l}/{w}") for l, ws in layers for w, _ in ws])


def split_names():
    fname = "split-names.h5"
    layers = [
        ("dense", [("dense/kernel:0", weights(3, 4)), ("dense/bias:0", weights(4))]),
        ("dense_1", [("dense_1/kernel:0", weights(4, 4)), ("dense_1/bias:0", weights(4))]),
        ("dense_2", [("dense_2/kernel:0", weights(4, 1))]),
    ]
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = config_json("Sequential", "sequential", [layer("Dense", n) for n, _ in layers]).encode()
        legacy_layer_groups(f.create_group("model_weights"), layers, fixed=True, split=True)
    expect_h5(fname, "attributes split as save_attributes_to_hdf5_group splits large ones: layer_names0/1, weight_names0/1, read in order",
              [(w[:-2], f"model_weights/{l}/{w}") for l, ws in layers for w, _ in ws])


def weights_only():
    fname = "weights-only.h5"
    layers = [
        ("lstm", [("lstm/lstm_cell/kernel:0", weights(3, 8)), ("lstm/lstm_cell/recurrent_kernel:0", weights(2, 8)), ("lstm/lstm_cell/bias:0", weights(8))]),
        ("dense", [("dense/kernel:0", weights(2, 1)), ("dense/bias:0", weights(1))]),
    ]
    with h5py.File(os.path.join(OUT, fname), "w", libver="latest") as f:
        legacy_layer_groups(f, layers, fixed=True)
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
    expect_h5(fname, "Keras 2 save_weights('x.h5'): layer groups at the root (libver latest), an LSTM's cell weights",
              [(w[:-2], f"{l}/{w}") for l, ws in layers for w, _ in ws])


def hf_tf_model():
    fname = "tf_model.h5"
    p = "tf_bert_model/bert"
    ws = [
        (f"{p}/embeddings/word_embeddings/weight:0", weights(12, 4)),
        (f"{p}/embeddings/LayerNorm/gamma:0", weights(4)),
        (f"{p}/embeddings/LayerNorm/beta:0", weights(4)),
        (f"{p}/encoder/layer_._0/attention/self/query/kernel:0", weights(4, 4)),
        (f"{p}/encoder/layer_._0/attention/self/query/bias:0", weights(4)),
        (f"{p}/pooler/dense/kernel:0", weights(4, 4)),
    ]
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        # TFPreTrainedModel.save_pretrained → Keras 2 model.save_weights(tf_model.h5): one layer, the main layer.
        legacy_layer_groups(f, [("bert", ws)], fixed=True)
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
    expect_h5(fname, "Hugging Face tf_model.h5 (save_pretrained): named as transformers names TF safetensors weights (model name dropped, :0 kept)",
              [(w.split("/", 1)[1], f"bert/{w}") for w, _ in ws])


def hf_tf_shard():
    """save_pretrained(max_shard_size=…): each shard's datasets at the weight name without the model's name, listed in the root's layer_names."""
    fname = "tf_model-00001-of-00002.h5"
    ws = [("bert/embeddings/word_embeddings/weight:0", weights(12, 4)), ("bert/embeddings/LayerNorm/gamma:0", weights(4))]
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        names = []
        for name, value in sorted(ws):
            f.create_dataset(name, value.shape, dtype=value.dtype)[:] = value
            names.append(name.encode("utf8"))
        f.attrs["layer_names"] = np.array(names)
    expect_h5(fname, "a shard of a sharded Hugging Face tf_model.h5: layer_names lists datasets, named as listed", [(n.decode(), n.decode()) for n in sorted(w.encode() for w, _ in ws)])


# ---------------------------------------------------------------------------------------------------
# Keras 3: .weights.h5 and .keras
# ---------------------------------------------------------------------------------------------------

def bf16(shape):
    """bfloat16 values as Keras 3 stores them through ml_dtypes: 2-byte elements h5py writes as an opaque type, attr dtype."""
    f32 = weights(*shape)
    bits = (f32.view("<u4") >> 16).astype("<u2")
    return bits.view("V2")


# (object path, name attribute, variables) as _save_state makes them: paths from the attribute names
# (layers/<snake_case class>[_n]), `name` the layer's name, datasets "0", "1", … in variable order.
KERAS3_OBJECTS = [
    ("layers/conv2d", "conv", [weights(3, 3, 1, 2), weights(2)]),
    ("layers/depthwise_conv2d", "depthwise", [weights(3, 3, 2, 1)]),
    ("layers/batch_normalization", "bn", [weights(2), weights(2), weights(2), weights(2)]),
    ("layers/flatten", "flatten", []),
    ("layers/dense", "dense_8", [weights(8, 4), weights(4)]),
    ("layers/dense_1", "head", [weights(4, 3)]),
    ("layers/lstm", "lstm", []),
    ("layers/lstm/cell", "lstm_cell", [weights(3, 8), weights(2, 8), weights(8)]),
    ("layers/multi_head_attention", "mha", []),
    ("layers/multi_head_attention/_query_dense", "query", [weights(3, 1, 2), weights(1, 2)]),
    ("layers/multi_head_attention/_output_dense", "attention_output", [weights(1, 2, 3), weights(3)]),
    ("layers/my_scale", "my_scale", [weights(3), np.array([5, 6], dtype="<i4")]),
    ("layers/dense_2", "bf16_dense", [bf16((3, 2)), bf16((2,))]),
]
KERAS3_NAMES = {
    "layers/conv2d": ["conv/kernel", "conv/bias"],
    "layers/depthwise_conv2d": ["depthwise/kernel"],
    "layers/batch_normalization": ["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"],
    "layers/dense": ["dense_8/kernel", "dense_8/bias"],
    "layers/dense_1": ["head/kernel"],
    "layers/lstm/cell": ["lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel", "lstm/lstm_cell/bias"],
    "layers/multi_head_attention/_query_dense": ["mha/query/kernel", "mha/query/bias"],
    "layers/multi_head_attention/_output_dense": ["mha/attention_output/kernel", "mha/attention_output/bias"],
    "layers/my_scale": ["layers/my_scale/0", "layers/my_scale/1"],
    "layers/dense_2": ["bf16_dense/kernel", "bf16_dense/bias"],
}
KERAS3_CONFIG = {
    "module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "input_layer", "batch_shape": [None, 5, 5, 1]}},
        {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv", "filters": 2}},
        {"module": "keras.layers", "class_name": "DepthwiseConv2D", "config": {"name": "depthwise", "use_bias": False}},
        {"module": "keras.layers", "class_name": "BatchNormalization", "config": {"name": "bn"}},
        {"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten"}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_8", "units": 4}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "head", "units": 3, "use_bias": False}},
        {"module": "keras.layers", "class_name": "LSTM", "config": {"name": "lstm", "units": 2}},
        {"module": "keras.layers", "class_name": "MultiHeadAttention", "config": {"name": "mha", "num_heads": 1, "key_dim": 2}},
        {"module": "my_package.layers", "class_name": "MyScale", "config": {"name": "my_scale"}, "registered_name": "my_package>MyScale"},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "bf16_dense", "units": 2, "dtype": "bfloat16"}},
    ]}}


def keras3_weights_h5(libver):
    """H5IOStore: /vars for the model (name attr), <path>/vars for each object, optimizer/vars."""
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver=libver) as f:
        f.create_group("vars").attrs["name"] = "sequential"
        for path, name, values in KERAS3_OBJECTS:
            g = f.create_group(path + "/vars") if path + "/vars" not in f else f[path + "/vars"]
            g.attrs["name"] = name
            for i, v in enumerate(values):
                ds = g.create_dataset(str(i), data=v)
                if v.dtype.kind == "V":
                    ds.attrs["dtype"] = "bfloat16"
        og = f.create_group("optimizer/vars")
        og.attrs["name"] = "adam"
        og.create_dataset("0", data=np.int64(3))
        og.create_dataset("1", data=np.float32(0.001))
        og.create_dataset("2", data=weights(3, 3, 1, 2))
    return buf.getvalue()


def natural(path):
    """Paths in natural order: segment by segment, `dense` < `dense_1` < `dense_2` < `dense_10` < `depthwise_conv2d`."""
    key = []
    for seg in path.split("/"):
        m = re.match(r"^(.*?)(?:_(\d+))?$", seg)
        key.append((m.group(1), int(m.group(2)) if m.group(2) else -1))
    return key


def keras3_expected_paths(with_config):
    """Tensors in the reader's order: objects by their top-level layer's place in config.json (when there is one),
    then in natural path order; variables by index."""
    order = [l["config"]["name"] for l in KERAS3_CONFIG["config"]["layers"]] if with_config else []
    names = {path: name for path, name, _ in KERAS3_OBJECTS}
    def place(path):
        top = "/".join(path.split("/")[:2])
        return order.index(names[top]) if names.get(top) in order else len(order)
    objects = sorted(KERAS3_OBJECTS, key=lambda o: (place(o[0]), natural(o[0])))
    return [(n, f"{path}/vars/{i}") for path, _, values in objects for i, n in enumerate(KERAS3_NAMES.get(path, []))]


def weights_h5():
    fname = "model.weights.h5"
    data = keras3_weights_h5("earliest")
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(data)
    expect_h5(fname, "Keras 3 save_weights('x.weights.h5'), no config beside it: names from the name attribute and the object path's class",
              keras3_expected_paths(False))


def keras_archive(fname, entries, deflate=()):
    with zipfile.ZipFile(os.path.join(OUT, fname), "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            z.writestr(info, data)


def metadata(version="3.11.3"):
    return json.dumps({"keras_version": version, "date_saved": "2026-12-01@20:00:00"})


def dot_keras_h5():
    fname = "model.keras"
    data = keras3_weights_h5("latest")
    keras_archive(fname, [("metadata.json", metadata()), ("config.json", json.dumps(KERAS3_CONFIG)), ("model.weights.h5", data)])
    expect_h5(fname, "Keras 3 model.save('x.keras'): stored model.weights.h5 (libver latest), layer classes from config.json", keras3_expected_paths(True), data)


def dot_keras_deflated():
    fname = "deflated.keras"
    data = keras3_weights_h5("earliest")
    keras_archive(fname, [("metadata.json", metadata()), ("config.json", json.dumps(KERAS3_CONFIG)), ("model.weights.h5", data)], deflate={"model.weights.h5", "config.json"})
    expect_h5(fname, "a .keras whose model.weights.h5 is deflated (read into memory, bounded)", keras3_expected_paths(True), data)


def dot_keras_npz():
    """NpzIOStore: np.savez(**{path: {"0": value, …}}): every member is a 0-d object array holding a dict (a pickle)."""
    fname = "npz-weights.keras"
    contents = {"layers/dense": {"0": weights(2, 2), "1": weights(2)}}
    buf = io.BytesIO()
    np.savez(buf, **contents)
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}
    keras_archive(fname, [("metadata.json", metadata()), ("config.json", json.dumps(config)), ("model.weights.npz", buf.getvalue())])
    # np.load(allow_pickle=False) refuses the members: Keras's own npz weights are pickles.
    z = np.load(io.BytesIO(buf.getvalue()), allow_pickle=False)
    try:
        z["layers/dense"]
        raise SystemExit("numpy read an object array without pickles?")
    except ValueError:
        pass
    write_expected(fname, {"exercises": "a .keras with model.weights.npz as Keras's NpzIOStore writes it: each member a pickled dict, refused unread", "error": "ObjectArray"})


def dot_keras_npz_plain():
    """An npz of plain arrays under Keras's member names (what a tool other than Keras may write): read through the NumPy reader."""
    fname = "npz-plain.keras"
    arrays = {"layers/dense/vars/0": weights(2, 2), "layers/dense/vars/1": weights(2)}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}
    keras_archive(fname, [("metadata.json", metadata()), ("config.json", json.dumps(config)), ("model.weights.npz", buf.getvalue())])
    z = np.load(io.BytesIO(buf.getvalue()), allow_pickle=False)
    tensors = []
    for member, name in [("layers/dense/vars/0", "layers/dense/vars/0"), ("layers/dense/vars/1", "layers/dense/vars/1")]:
        a = np.ascontiguousarray(z[member])
        tensors.append({"name": name, "dtype": ST[(a.dtype.kind, a.dtype.itemsize)], "shape": list(a.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()})
    write_expected(fname, {"exercises": "a .keras whose model.weights.npz holds plain arrays: each member a tensor named by the member", "tensors": tensors})


def dot_keras_duplicate():
    """Two entries named model.weights.h5 (as corpus/formats/keras/malicious/model.keras has two model.weights.npz)."""
    fname = "duplicate-entry.keras"
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:
        f.create_group("vars").attrs["name"] = "sequential"
    data = buf.getvalue()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        keras_archive(fname, [("metadata.json", metadata()), ("config.json", json.dumps(KERAS3_CONFIG)), ("model.weights.h5", data), ("model.weights.h5", data)])
    write_expected(fname, {"exercises": "two zip entries named model.weights.h5: which one a reader takes is ambiguous, refused", "error": "DuplicateName"})


def keras2_model_weights(f, dense_layers):
    """A Keras 2 file's root attributes for a Sequential of Dense layers, and its model_weights group listing them (the layer groups are the caller's)."""
    f.attrs["keras_version"] = b"2.2.4"
    f.attrs["backend"] = b"tensorflow"
    f.attrs["model_config"] = config_json("Sequential", "sequential", [layer("Dense", n) for n in dense_layers]).encode()
    mw = f.create_group("model_weights")
    mw.attrs["layer_names"] = strings(dense_layers, True)
    return mw


def missing_weight():
    fname = "missing-weight.h5"
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        mw = keras2_model_weights(f, ["dense"])
        g = mw.create_group("dense")
        g.attrs["weight_names"] = strings(["dense/kernel:0", "dense/bias:0"], True)
        g.create_dataset("dense/kernel:0", data=weights(2, 2))
    write_expected(fname, {"exercises": "weight_names lists dense/bias:0, which the layer group does not hold", "error": "KerasWeightMissing"})


def missing_layer():
    fname = "missing-layer.h5"
    with h5py.File(os.path.join(OUT, fname), "w", libver="earliest") as f:
        mw = keras2_model_weights(f, ["dense", "dense_1"])
        g = mw.create_group("dense")
        g.attrs["weight_names"] = strings(["dense/kernel:0"], True)
        g.create_dataset("dense/kernel:0", data=weights(2, 2))
    write_expected(fname, {"exercises": "layer_names lists dense_1, which model_weights does not hold", "error": "KerasLayerMissing"})


def main():
    os.makedirs(OUT, exist_ok=True)
    for make in [keras1, keras2, keras3_legacy, split_names, weights_only, hf_tf_model, weights_h5, dot_keras_h5, dot_keras_deflated,
                 dot_keras_npz, dot_keras_npz_plain, dot_keras_duplicate, missing_weight, missing_layer, hf_tf_shard]:
        make()
    print("wrote", len(os.listdir(OUT)), "files in", OUT)


if __name__ == "__main__":
    main()
