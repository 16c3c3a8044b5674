import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IoError } from '../errors.js';
import { makeFolder } from '../node/file-source.js';
import { convertCommand } from './convert.js';
import { inspectCommand } from './inspect.js';
import { bold, type Io } from './output.js';
import { validateCommand } from './validate.js';
import { EXIT_OK } from './exit-codes.js';
import { parsing, type Command } from './usage.js';

/** The bundled sample: a tiny GPT-2-like checkpoint written by torch 1.13 (test/fixtures/torch/sample). */
export const SAMPLE_CHECKPOINT = fileURLToPath(new URL('../../test/fixtures/torch/sample/pytorch_model.bin', import.meta.url));

export const demoCommand: Command = {
  name: 'demo',
  help: `Usage: tensorsafe demo [--out DIR]

The main job on a bundled sample: copies a small PyTorch checkpoint written
by torch (a tiny GPT-2-like model with tied embeddings) to DIR, converts it to
safetensors without running it ("tensorsafe convert", which verifies every
tensor against the source bit for bit), then runs "tensorsafe validate" and
"tensorsafe inspect" on the result. Files in DIR that are not the sample
or its conversion are never replaced (OutputExists).

Options:
  --out DIR   where to work (default: ./demo-output)
  -h, --help  show this help`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values } = parsing(() => parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: false, strict: true }));
    const dir = values.out ?? 'demo-output';
    makeFolder(dir);
    const checkpoint = path.join(dir, 'pytorch_model.bin');
    // Only the sample itself is ever in place: another pytorch_model.bin there is someone's model.
    if (fs.existsSync(checkpoint) && !fs.readFileSync(checkpoint).equals(fs.readFileSync(SAMPLE_CHECKPOINT))) {
      throw new IoError('OutputExists', `${checkpoint} already exists and is not the bundled sample; it was left as it is (give the demo another folder with --out)`, { location: checkpoint });
    }
    if (!fs.existsSync(checkpoint)) fs.copyFileSync(SAMPLE_CHECKPOINT, checkpoint);
    const output = path.join(dir, 'model.safetensors');
    // No --force: an existing model.safetensors is replaced only when tensorsafe wrote it from this sample.
    const steps: [string, Command, string[]][] = [
      ['convert', convertCommand, [checkpoint, '-o', output]],
      ['validate', validateCommand, [output]],
      ['inspect', inspectCommand, [output]],
    ];
    for (const [i, [name, command, args]] of steps.entries()) {
      if (i > 0) io.out('');
      io.out(bold(io, `$ tensorsafe ${name} ${args.join(' ')}`));
      const code = await command.run(args, io);
      if (code !== EXIT_OK) return code;
    }
    return EXIT_OK;
  },
};
