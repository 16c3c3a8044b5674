"""
Compiles Core ML's public .proto files (apple/coremltools, mlmodel/format/*.proto, BSD-3-Clause,
Copyright (c) 2017 Apple Inc.: see that folder's LICENSE.txt) with protoc into a temporary folder and
imports the generated Python modules. The .proto files are not copied into this repository: pass the
folder that holds them (a checkout of apple/coremltools: <checkout>/mlmodel/format) as the first
argument of the scripts that import this one, or set COREMLTOOLS_PROTO_DIR.

Development only (/usr/bin/python3 with python3-protobuf, and protoc).
"""
import glob
import importlib
import os
import subprocess
import sys
import tempfile


def load(proto_dir):
    protos = sorted(glob.glob(os.path.join(proto_dir, '*.proto')))
    if not protos:
        sys.exit(f'no .proto files in {proto_dir}: pass <coremltools checkout>/mlmodel/format')
    out = tempfile.mkdtemp(prefix='coreml-protos-')
    subprocess.run(['protoc', f'--proto_path={proto_dir}', f'--python_out={out}', *[os.path.basename(p) for p in protos]], check=True, cwd=proto_dir)
    sys.path.insert(0, out)
    return {name: importlib.import_module(f'{name}_pb2') for name in ('Model', 'MIL', 'NeuralNetwork', 'FeatureTypes')}


def proto_dir_from_argv():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('COREMLTOOLS_PROTO_DIR')
    if not d:
        sys.exit('usage: <script> <coremltools checkout>/mlmodel/format')
    return d
