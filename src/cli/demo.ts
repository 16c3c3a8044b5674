import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fromFloat32 } from '../dtype/float-codecs.js';
import type { TensorLike } from '../safetensors/tensor-input.js';
import { saveFile } from '../node/files.js';
import { inspectCommand } from './inspect.js';
import { bold, type Io } from './output.js';
import { validateCommand } from './validate.js';
import { EXIT_OK, parsing, type Command } from './usage.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'write a small sample model, then validate and inspect it',
  help: `Usage: tensorsafe demo [--out DIR]

Writes a small sample model (a two-layer MLP with F32, BF16, F16 and I64
tensors and metadata) to DIR/sample.safetensors, then runs
"tensorsafe validate" and "tensorsafe inspect" on it.

Options:
  --out DIR   where to write (default: ./demo-output)
  -h, --help  show this help`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values } = parsing(() => parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: false, strict: true }));
    const dir = values.out ?? 'demo-output';
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'sample.safetensors');
    await saveFile(sampleModel(), file, { metadata: { format: 'pt', producer: 'tensorsafe demo' } });
    io.out(bold(io, `$ tensorsafe validate ${file}`));
    const v = await validateCommand.run([file], io);
    if (v !== EXIT_OK) return v;
    io.out('');
    io.out(bold(io, `$ tensorsafe inspect ${file}`));
    return inspectCommand.run([file], io);
  },
};

/** Deterministic values: a tiny MLP's weights, an embedding in BF16, a norm in F16, position ids. */
export function sampleModel(): Record<string, TensorLike> {
  const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.1);
  return {
    'embed.weight': { dtype: 'BF16', shape: [32, 16], data: fromFloat32('BF16', values(32 * 16, 1)) },
    'mlp.fc1.weight': { dtype: 'F32', shape: [64, 16], data: values(64 * 16, 2) },
    'mlp.fc1.bias': { dtype: 'F32', shape: [64], data: values(64, 3) },
    'mlp.fc2.weight': { dtype: 'F32', shape: [16, 64], data: values(16 * 64, 4) },
    'mlp.fc2.bias': { dtype: 'F32', shape: [16], data: values(16, 5) },
    'norm.weight': { dtype: 'F16', shape: [16], data: fromFloat32('F16', new Float32Array(16).fill(1)) },
    position_ids: { dtype: 'I64', shape: [1, 32], data: BigInt64Array.from({ length: 32 }, (_, i) => BigInt(i)) },
  };
}
