import type { Severity } from '../../formats/findings.js';

/**
 * Plain words for the scan's findings: what a rule's area means for someone about to load the file.
 * The finding's own message says what was found and where; this says why it matters.
 */
const AREAS: Readonly<Record<string, string>> = {
  pickle:
    'A pickle is a small program that Python runs to rebuild objects. Loading it (torch.load without weights_only, pickle.load, joblib.load) runs every call it makes, so a call to something like os.system runs on your machine.',
  pytorch: 'A PyTorch checkpoint is a pickle inside a zip or tar: loading it with torch.load runs the pickle.',
  torchscript: 'A TorchScript archive carries Python-like code that torch.jit.load compiles and runs with the model.',
  zip: 'The zip archive itself is odd: loaders and scanners can be made to read different files from it, which is how malicious files hide from checks.',
  tar: 'An old-style PyTorch tar archive.',
  format: 'What the file is, from its bytes (never its name).',
  keras: 'A Keras model names layers and functions by their Python names; loading it can import them, and a Lambda layer carries Python code that runs when the model is loaded.',
  hdf5: 'An HDF5 (Keras .h5) file: its Keras config names the layers and functions that loading imports.',
  tf: 'A TensorFlow SavedModel holds a graph of operations that run when the model is called: some of them read or write files, reach the network or call back into Python.',
  onnx: 'An ONNX model: operators from custom domains need code outside ONNX to run, and external data is read from other files.',
  tflite: 'A TensorFlow Lite model: custom and Flex operators run code outside the TFLite runtime, and external buffers read other files.',
  tfjs: 'A TensorFlow.js model: its weights are read from the files its manifest names.',
  gguf: 'A GGUF file (llama.cpp): its chat template is a Jinja program that the runtime renders for every prompt.',
  ggml: 'A legacy GGML file (llama.cpp).',
  npy: 'A NumPy array: an object array is a pickle, which numpy.load runs with allow_pickle=True.',
  safetensors: 'A safetensors file holds only a JSON header and raw numbers: it cannot carry code.',
  coreml: 'A Core ML model: custom layers and models run code from the app, and its weights must come from inside the package.',
  mxnet: 'An MXNet parameter file: arrays only.',
  paddle: 'A PaddlePaddle file: its parameters are stored in a pickle.',
  flax: 'A Flax checkpoint (msgpack): data only.',
  pmml: 'A PMML document is XML: DOCTYPEs, entities and external references make XML parsers read other files or the network.',
  pfa: 'A PFA document (JSON or YAML): YAML tags can make a YAML loader build Python objects, and external cells read other files.',
  scan: 'About the scan itself.',
};

const SEVERITY: Readonly<Record<Severity, string>> = {
  dangerous: 'Loading this file the usual way would run code an attacker chose.',
  suspicious: 'Not proved harmful, but not what a plain model file holds: check it before loading the file the usual way.',
  info: 'For your information: nothing here runs code.',
  error: 'This part could not be read, so it could not be checked.',
};

/** Why a finding matters, in plain words: its area's meaning and its severity's. */
export function explainFinding(rule: string, severity: Severity): string {
  const area = AREAS[rule.split('/')[0] ?? ''] ?? '';
  return `${SEVERITY[severity]}${area ? ` ${area}` : ''}`;
}

/** What a verdict means, in a sentence. */
export function explainVerdict(verdict: string): string {
  switch (verdict) {
    case 'safe':
      return 'Nothing in it would run code when loaded. tensorsafe read it as data; nothing was run.';
    case 'suspicious':
      return 'It holds something a plain model file does not; nothing in it was run. Read the findings before loading it with its usual loader.';
    case 'dangerous':
      return 'Loading it with its usual loader would run code. tensorsafe ran nothing and read none of its tensors: convert only files you trust, or a safe copy.';
    default:
      return 'It could not be read completely, so it could not be judged.';
  }
}
