// Benchmarks of the behaviour check (verify --run, issue 15): what running the original and the rebuilt
// model costs on top of the tensors' comparison, and how much of it is the runtime's own work (loading
// and running the original once, in onnxruntime-node) rather than tensorsafe's (rebuilding the graph).
// The model is made at bench time by /usr/bin/python3's onnx: an MLP of 4 Gemm layers of 1024 × 1024
// float32 weights (16 MiB), run on 64 rows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { compare, ensureTmp, fmtMB, fmtMs, ratio, ROOT } from './lib.js';

const { openModel, verifySets, verifyBehaviour, convertModel, BIT_EXACT } = await import(path.join(ROOT, 'dist/node.js'));

const MAKE = `
import sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
rng = np.random.default_rng(0)
n, layers = 1024, 4
nodes, inits, x = [], [], 'x'
for i in range(layers):
    inits += [numpy_helper.from_array(rng.uniform(-0.05, 0.05, (n, n)).astype(np.float32), f'w{i}'), numpy_helper.from_array(rng.uniform(-0.1, 0.1, n).astype(np.float32), f'b{i}')]
    nodes += [helper.make_node('Gemm', [x, f'w{i}', f'b{i}'], [f'h{i}']), helper.make_node('Relu', [f'h{i}'], [f'r{i}'])]
    x = f'r{i}'
g = helper.make_graph(nodes, 'mlp', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', n])], [helper.make_tensor_value_info(x, TensorProto.FLOAT, ['batch', n])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
m.ir_version = 8
onnx.save(m, sys.argv[1])
`;

export async function run({ runs = 5 } = {}) {
  const tmp = ensureTmp();
  const model = path.join(tmp, 'behaviour-mlp.onnx');
  const converted = path.join(tmp, 'behaviour-mlp.safetensors');
  let ort;
  try {
    ort = await import('onnxruntime-node');
    execFileSync('/usr/bin/python3', ['-c', MAKE, model]);
  } catch (e) {
    return ['## Behaviour check (verify --run)', '', `Skipped: ${e instanceof Error ? e.message.split('\n')[0] : e} (needs onnxruntime-node and /usr/bin/python3 with onnx).`].join('\n');
  }
  fs.rmSync(converted, { force: true });
  await convertModel(model, { output: converted });
  const size = fs.statSync(model).size;
  const dims = { batch: 64 };
  const verifyTensors = async () => {
    const a = await openModel(model);
    const b = await openModel(converted);
    try {
      return await verifySets(model, a, converted, b, BIT_EXACT);
    } finally {
      await a.close();
      await b.close();
    }
  };
  // The runtime's own share: the original loaded from its bytes and run once, as verify --run does it (one thread).
  const runOriginal = async () => {
    const s = await ort.InferenceSession.create(fs.readFileSync(model), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    await s.run({ x: new ort.Tensor('float32', new Float32Array(64 * 1024).fill(0.5), [64, 1024]) });
    await s.release();
  };
  const behaviour = await verifyBehaviour(model, converted, { dims });
  const [tTensors, tRun, tOnce] = await compare(runs, [verifyTensors, () => verifyBehaviour(model, converted, { dims }), runOriginal]);
  fs.rmSync(model, { force: true });
  fs.rmSync(converted, { force: true });
  const rows = [
    [`\`verify --run\` (behaviour only) vs \`verify\` (tensors) of a ${fmtMB(size)} ONNX MLP`, `4 Gemm 1024 × 1024, 64 rows; ${behaviour.outputs.length} output ${behaviour.outputs[0].status}`, `${fmtMs(tRun)} vs ${fmtMs(tTensors)}`, ratio(tRun / tTensors), 'the price of two runs'],
    ['`verify --run` vs the runtime\'s own work: loading and running the original twice in onnxruntime-node', 'the same model and rows', `${fmtMs(tRun)} vs ${fmtMs(2 * tOnce)}`, ratio(tRun / (2 * tOnce)), `tensorsafe's share (open, scan, read the weights, rebuild, compare): ${fmtMs(Math.max(0, tRun - 2 * tOnce))}`],
  ];
  return [
    '## Behaviour check (verify --run)',
    '',
    'Measured while other sessions loaded this 2-core machine: the ratios hold better than the times.',
    '',
    '| benchmark | input | time | ratio | target |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
