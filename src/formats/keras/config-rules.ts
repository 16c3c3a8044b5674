import type { ScanContext } from '../findings.js';
import { Findings, show } from '../scan-rules.js';

/**
 * Keras model configurations: the JSON in a `.keras` archive's `config.json`, a legacy HDF5 file's
 * `model_config` (and `training_config`) attribute, and a TF.js layers-model's `modelTopology`.
 * Loading a model builds every object the config names, so the config decides what code runs:
 *  - a `Lambda` layer carries its function as marshalled Python bytecode (or the name of a Python
 *    function), run when the layer is called: Keras 2 / tf.keras load it without asking; Keras 3 only
 *    with safe_mode=False (and safe_mode has had bypasses: CVE-2024-3660, CVE-2025-1550, CVE-2025-9906);
 *  - `module` / `registered_name` outside Keras name classes and functions that must be imported from
 *    user code (custom objects): a module like `os` or `builtins` names a function that touches the system;
 *  - a Keras 3 function object (`class_name: "function"`) or `__lambda__` anywhere (an activation, a
 *    loss) is the same as a Lambda;
 *  - a lookup layer whose `vocabulary` is a path or URL reads that file when built (CVE-2025-12058).
 *  - a tf.keras `TFOpLambda`/`SlicingOpLambda` layer calls `tf.<function>` by its config's name when the
 *    model is called: names under tf.io, tf.raw_ops, tf.numpy_function, … (DANGEROUS_TF_SYMBOL_PREFIXES) write,
 *    read or delete files or run Python.
 * Every object in the JSON is visited (nested Functional/Sequential models, wrappers such as
 * TimeDistributed and Bidirectional, `config.layers`, `config.layer`, dicts of layers…), without recursion.
 *
 * Rules: `keras/config`, `keras/metadata` (info); `keras/lambda-layer`, `keras/lambda-function`,
 * `keras/dangerous-module`, `keras/dangerous-function` (dangerous); `keras/custom-object`,
 * `keras/external-file`, `keras/malformed`, `keras/limit-exceeded` (suspicious).
 * Misses: Keras 2 custom classes, which carry no `module`, are indistinguishable by name from built-in
 * layers (only Lambda is recognised there); what a custom class does; configs past the limits (reported).
 */

/** Config text parsed (real configs are KiB to a few MiB): bounds memory. */
export const MAX_KERAS_CONFIG_CHARS = 64 * 1024 * 1024;
/** JSON values visited in one config: bounds the scan's time. */
export const MAX_KERAS_CONFIG_NODES = 4_000_000;
/** Nesting of the config followed: deeper values are reported, not visited. */
export const MAX_KERAS_CONFIG_DEPTH = 1000;
/** Names listed from a lambda's marshalled bytecode in a message. */
export const MAX_LAMBDA_NAMES_SHOWN = 24;

/** Module prefixes of Keras itself and the Keras team's model libraries (objects from them need no user code). */
export const KERAS_MODULE_PREFIXES: readonly string[] = ['keras', 'tf_keras', 'tensorflow.keras', 'tensorflow.python.keras', 'keras_hub', 'keras_nlp', 'keras_cv', 'keras_rs', 'keras_tuner'];
/** Modules whose functions touch the system or run code: naming one in a config is an attack. */
export const DANGEROUS_MODULES: ReadonlySet<string> = new Set([
  'os', 'posix', 'nt', 'subprocess', 'builtins', '__builtin__', 'sys', 'shutil', 'socket', 'importlib', 'runpy', 'pickle', '_pickle',
  'marshal', 'ctypes', 'code', 'codeop', 'pty', 'webbrowser', 'urllib', 'http', 'requests', 'pathlib', 'io', '_io', 'tempfile', 'glob',
  'multiprocessing', 'threading', '_thread', 'asyncio', 'signal', 'pdb', 'bdb', 'timeit', 'cProfile', 'profile', 'trace', 'types',
  'operator', 'functools', 'inspect', 'linecache', 'pydoc', 'platform', 'ssl', 'ftplib', 'smtplib', 'telnetlib', 'zipimport',
  'pkgutil', 'dill', 'cloudpickle', 'joblib', 'numpy.f2py', 'torch.hub', 'tensorflow.io', 'tensorflow.python.platform', 'tensorflow.compat',
]);
/**
 * TensorFlow API names (`tf.<name>`) that touch files, run Python, or load code: a tf.keras
 * `TFOpLambda`/`SlicingOpLambda` layer calls `tf.<function>` by the name in its config when the model
 * is called (tf_keras looks it up in TensorFlow's exported API, no safe mode): `io.write_file` writes
 * a file, `io.gfile.rmtree` deletes a tree, `numpy_function` runs Python, `load_library` loads a
 * shared object. Matched as a dotted prefix, with or without `compat.v1.`/`compat.v2.`.
 */
export const DANGEROUS_TF_SYMBOL_PREFIXES: readonly string[] = [
  'io', 'gfile', 'raw_ops', 'saved_model', 'summary', 'data', 'debugging', 'print', 'Print', 'py_function', 'numpy_function', 'py_func',
  'load_library', 'load_op_library', 'load_file_system_library', 'sysconfig', 'train', 'config', 'distribute', 'experimental', 'keras',
  'lookup', 'feature_column', 'estimator', 'autograph', 'function', 'tpu', 'queue',
  // tf.lite (Interpreter(model_path=) reads a file, experimental.load_delegate loads a shared library),
  // profilers and tf.test (write files, exit, open ports), tf.mlir (reads saved models), and TF 1
  // top-level aliases reachable as compat.v1.<name>: read_file, write_file, matching_files (tf.io's),
  // python_io (TFRecord files), resource_loader (reads files), app.run (exits), Session (connects to a target).
  'lite', 'profiler', 'test', 'mlir', 'read_file', 'write_file', 'matching_files', 'python_io', 'resource_loader', 'app', 'Session',
  'InteractiveSession', 'WholeFileReader', 'TFRecordReader', 'TextLineReader', 'FixedLengthRecordReader', 'IdentityReader', 'LMDBReader',
];
/** tf.keras layers whose config names a TensorFlow function called with the layer's inputs. */
const TF_OP_LAYERS: ReadonlySet<string> = new Set(['TFOpLambda', 'SlicingOpLambda']);

/** Keras functions that undo protections or fetch files when a config names them. */
export const DANGEROUS_KERAS_FUNCTIONS: ReadonlySet<string> = new Set(['enable_unsafe_deserialization', 'get_file', 'load_model', 'load_weights', 'set_session']);

interface Item {
  value: unknown;
  path: string;
  depth: number;
  /** Name of the closest enclosing layer. */
  layer: string | undefined;
  inLambda: boolean;
}

/**
 * Scans the text of a Keras model configuration. `location` is where the text came from
 * (`model.keras:config.json`, `model.h5@2136`, `model.json`).
 */
export function scanKerasConfig(configJson: string, ctx: ScanContext, location: string): void {
  const findings = new Findings(ctx);
  const value = parseJson(configJson, findings, location, 'the Keras config');
  if (value !== undefined) walkKerasConfig(value, findings, location);
  findings.flush();
}

/** Scans a `.keras` archive's `metadata.json`: it must be a JSON object; reports the Keras version. */
export function scanKerasMetadata(metadataJson: string, ctx: ScanContext, location: string): void {
  const findings = new Findings(ctx);
  const value = parseJson(metadataJson, findings, location, 'the Keras metadata');
  if (value === undefined) return findings.flush();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    findings.add('suspicious', 'keras/malformed', 'the Keras metadata is not a JSON object', location);
  } else {
    const v = (value as Record<string, unknown>)['keras_version'];
    findings.add('info', 'keras/metadata', `saved by Keras ${typeof v === 'string' ? show(v) : '(no keras_version)'}`, location);
  }
  findings.flush();
}

function parseJson(text: string, findings: Findings, location: string, what: string): unknown {
  if (text.length > MAX_KERAS_CONFIG_CHARS) {
    findings.add('suspicious', 'keras/limit-exceeded', `${what} is ${text.length} characters, more than MAX_KERAS_CONFIG_CHARS (${MAX_KERAS_CONFIG_CHARS}); not scanned`, location);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    findings.add('suspicious', 'keras/malformed', `${what} is not valid JSON (${e instanceof Error ? e.message : String(e)}); Keras would refuse it, another parser may not`, location);
    return undefined;
  }
}

export function walkKerasConfig(root: unknown, findings: Findings, location: string): void {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    findings.add('suspicious', 'keras/malformed', 'the Keras config is not a JSON object', location);
    return;
  }
  const top = root as Record<string, unknown>;
  let layers = 0;
  let visited = 0;
  let tooDeep = false;
  const stack: Item[] = [{ value: root, path: '$', depth: 0, layer: undefined, inLambda: false }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (++visited > MAX_KERAS_CONFIG_NODES) {
      findings.add('suspicious', 'keras/limit-exceeded', `the config has more than MAX_KERAS_CONFIG_NODES (${MAX_KERAS_CONFIG_NODES}) values; the rest was not scanned`, location);
      break;
    }
    const v = item.value;
    if (typeof v !== 'object' || v === null) continue;
    if (item.depth >= MAX_KERAS_CONFIG_DEPTH) {
      tooDeep = true;
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ ...item, value: v[i], path: `${item.path}[${i}]`, depth: item.depth + 1 });
      continue;
    }
    const o = v as Record<string, unknown>;
    let layer = item.layer;
    let inLambda = item.inLambda;
    if (typeof o['class_name'] === 'string') {
      const config = o['config'];
      const name = typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>)['name'] : undefined;
      if (typeof name === 'string') {
        layer = name;
        layers++;
      }
      inLambda = checkObject(o, item, layer, findings, location) || inLambda;
    }
    const vocabulary = o['vocabulary'];
    if (typeof vocabulary === 'string' && vocabulary !== '') {
      findings.add(
        'suspicious',
        'keras/external-file',
        `${where(item.path, layer)} reads its vocabulary from ${show(vocabulary)} when the model is built: a path or URL outside the archive (arbitrary file read or download, CVE-2025-12058)`,
        location,
      );
    }
    const keys = Object.keys(o);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      stack.push({ value: o[k], path: `${item.path}.${k}`, depth: item.depth + 1, layer, inLambda });
    }
  }
  if (tooDeep) findings.add('suspicious', 'keras/limit-exceeded', `the config nests more than MAX_KERAS_CONFIG_DEPTH (${MAX_KERAS_CONFIG_DEPTH}) levels; deeper values were not scanned`, location);
  const cls = typeof top['class_name'] === 'string' ? show(top['class_name']) : typeof top['model_config'] === 'object' ? 'model_config' : '(no class_name)';
  findings.add('info', 'keras/config', `Keras config of ${cls} with ${layers} named objects`, location);
}

function where(path: string, layer: string | undefined): string {
  return layer === undefined ? `the object at ${path}` : `layer ${show(layer)} (${path})`;
}

/** Checks one serialized object; returns true when it is a Lambda layer (its function is reported with it). */
function checkObject(o: Record<string, unknown>, item: Item, layer: string | undefined, findings: Findings, location: string): boolean {
  const cls = o['class_name'] as string;
  const mod = typeof o['module'] === 'string' ? o['module'] : undefined;
  const registered = typeof o['registered_name'] === 'string' ? o['registered_name'] : undefined;
  const config = o['config'];
  const here = where(item.path, layer);

  if (cls === 'Lambda') {
    const c = typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
    findings.add(
      'dangerous',
      'keras/lambda-layer',
      `Lambda ${here}: its function is ${describeFunction(c['function'], c['function_type'], c['module'])}${describeOutputShape(c)}. It runs when the model is loaded and called (Keras 2 / tf.keras without asking; Keras 3 with safe_mode=False)`,
      location,
    );
    return true;
  }
  if (TF_OP_LAYERS.has(cls)) {
    const c = typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
    const fn = c['function'];
    const danger = typeof fn === 'string' ? dangerousTfSymbol(fn) : undefined;
    if (danger !== undefined) {
      findings.add('dangerous', 'keras/dangerous-function', `${here} is a ${cls} layer calling tf.${fn} (${danger}) when the model is called: TensorFlow functions that read, write or delete files, or run Python`, location);
    } else if (typeof fn !== 'string') {
      findings.add('suspicious', 'keras/custom-object', `${here} is a ${cls} layer whose function is not a TensorFlow name (${show(JSON.stringify(fn) ?? 'missing')})`, location);
    }
    return false;
  }
  if (cls === '__lambda__' && !item.inLambda) {
    findings.add('dangerous', 'keras/lambda-function', `${here} is a Python lambda (${describeFunction(o, 'lambda', undefined)}): Keras runs it when the model is used`, location);
  }
  if (mod !== undefined) {
    const danger = dangerousModule(mod);
    if (danger) {
      findings.add('dangerous', 'keras/dangerous-module', `${here} names ${show(cls)} from module ${show(mod)}${typeof config === 'string' ? ` (${show(config)})` : ''}: loading the model imports it and calls into ${danger}, which touches the system`, location);
      return false;
    }
  }
  if (cls === 'function' && typeof config === 'string' && DANGEROUS_KERAS_FUNCTIONS.has(config.split('.').pop()!)) {
    findings.add('dangerous', 'keras/dangerous-function', `${here} is the function ${show(`${mod ?? ''}.${config}`)}, which disables safe loading or fetches files when the config is deserialized (CVE-2025-9906)`, location);
    return false;
  }
  // Keras 3 resolves a class_name under a keras module through its exported API, and returns a function
  // it finds there as the object: {"class_name": "get_file", "module": "keras.utils"} is that function.
  if (DANGEROUS_KERAS_FUNCTIONS.has(cls)) {
    findings.add('dangerous', 'keras/dangerous-function', `${here} names ${show(`${mod ?? ''}.${cls}`)} as its class: Keras resolves it to that function, which disables safe loading or fetches files (CVE-2025-9906)`, location);
    return false;
  }
  if (registered !== undefined && DANGEROUS_KERAS_FUNCTIONS.has(registered.split(/[>.]/).pop()!)) {
    findings.add('dangerous', 'keras/dangerous-function', `${here} is registered as ${show(registered)}, which disables safe loading or fetches files`, location);
    return false;
  }
  const customModule = mod !== undefined && !isKerasModule(mod);
  const pkg = registered?.includes('>') ? registered.slice(0, registered.indexOf('>')) : undefined;
  const customRegistered = (pkg !== undefined && !isKerasModule(pkg)) || (registered !== undefined && pkg === undefined && registered !== cls && registered !== 'function' && !isKerasModule(mod ?? ''));
  if (customModule || customRegistered) {
    const whence = [mod !== undefined ? `module ${show(mod)}` : '', registered !== undefined ? `registered as ${show(registered)}` : ''].filter(Boolean).join(', ');
    findings.add(
      'suspicious',
      'keras/custom-object',
      `${here} is the custom ${cls === 'function' ? 'function' : 'class'} ${show(cls)} (${whence}): loading needs that code, which runs with the model's arguments`,
      location,
    );
  }
  return false;
}

/** The dangerous prefix `name` (a tf.* API name) falls under, or undefined. */
function dangerousTfSymbol(name: string): string | undefined {
  const bare = name.trim().replace(/^(tf\.)?(compat\.v[12]\.)?/, '');
  const prefix = DANGEROUS_TF_SYMBOL_PREFIXES.find((p) => bare === p || bare.startsWith(`${p}.`));
  return prefix === undefined ? undefined : `under tf.${prefix}`;
}

/** A module of Keras's own packages (`keras.layers`, `tf_keras`, …). */
export function isKerasModule(mod: string): boolean {
  return KERAS_MODULE_PREFIXES.some((p) => mod === p || mod.startsWith(`${p}.`));
}

function dangerousModule(mod: string): string | undefined {
  const parts = mod.split('.');
  for (let i = parts.length; i >= 1; i--) {
    const prefix = parts.slice(0, i).join('.');
    if (DANGEROUS_MODULES.has(prefix)) return show(prefix);
  }
  return undefined;
}

function describeOutputShape(c: Record<string, unknown>): string {
  return c['output_shape_type'] === 'lambda' || isLambdaObject(c['output_shape']) ? '; its output_shape is another lambda' : '';
}

function isLambdaObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)['class_name'] === '__lambda__';
}

/** What a Lambda's `function` is, for the message: bytecode (and the names it uses) or a named function. */
function describeFunction(fn: unknown, type: unknown, mod: unknown): string {
  // Keras 3: {"class_name": "__lambda__", "config": {"code": base64 marshal, "defaults", "closure"}}
  if (typeof fn === 'object' && fn !== null && !Array.isArray(fn)) {
    const f = fn as Record<string, unknown>;
    const c = typeof f['config'] === 'object' && f['config'] !== null ? (f['config'] as Record<string, unknown>) : {};
    if (f['class_name'] === '__lambda__') return `marshalled Python bytecode (Keras 3 __lambda__, base64${namesIn(c['code'])})`;
    if (f['class_name'] === 'function') return `the Python function ${show(`${typeof f['module'] === 'string' ? f['module'] : '?'}.${typeof f['config'] === 'string' ? f['config'] : '?'}`)}`;
    return 'an object of an unrecognised kind';
  }
  // Keras 2: function_type "lambda" -> func_dump() = (code, defaults, closure), code as base64 or raw text.
  const code = Array.isArray(fn) ? fn[0] : fn;
  if (type === 'lambda' || Array.isArray(fn)) {
    if (typeof code !== 'string') return 'marshalled Python bytecode in an unrecognised encoding';
    const b64 = /^[A-Za-z0-9+/=\s]+$/.test(code);
    return `marshalled Python bytecode (Keras 2 func_dump, ${b64 ? 'base64' : 'raw bytes as text'}${namesIn(code)})`;
  }
  if (typeof fn === 'string') return `the Python function ${show(typeof mod === 'string' ? `${mod}.${fn}` : fn)} (function_type ${show(String(type ?? 'function'))})`;
  return 'missing or of an unrecognised kind';
}

/** `; names: os, system…` from marshalled bytecode (string objects in the marshal stream), or ''. */
function namesIn(code: unknown): string {
  if (typeof code !== 'string') return '';
  let bytes: Uint8Array;
  if (/^[A-Za-z0-9+/=\s]+$/.test(code)) {
    try {
      const bin = atob(code.replace(/\s+/g, ''));
      bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
    } catch {
      return '';
    }
  } else {
    bytes = Uint8Array.from(code, (ch) => ch.charCodeAt(0) & 0xff);
  }
  const names = new Set<string>();
  for (let i = 0; i < bytes.length && names.size < MAX_LAMBDA_NAMES_SHOWN; i++) {
    const t = bytes[i]! & 0x7f; // FLAG_REF is 0x80
    let len = -1;
    let start = 0;
    if ((t === 0x7a || t === 0x5a) && i + 1 < bytes.length) {
      len = bytes[i + 1]!; // short ascii: 1-byte length
      start = i + 2;
    } else if ((t === 0x61 || t === 0x41 || t === 0x75 || t === 0x74) && i + 4 < bytes.length) {
      len = bytes[i + 1]! | (bytes[i + 2]! << 8) | (bytes[i + 3]! << 16) | (bytes[i + 4]! << 24);
      start = i + 5;
    }
    if (len < 1 || len > 64 || start + len > bytes.length) continue;
    const s = String.fromCharCode(...bytes.subarray(start, start + len));
    if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(s) && !/^(<lambda>|<module>)$/.test(s)) {
      names.add(s);
      i = start + len - 1;
    }
  }
  return names.size === 0 ? '' : `; names in it: ${[...names].join(', ')}`;
}
