import { parseArgs } from 'node:util';
import { openModel } from '../node/open-model.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import { BIT_EXACT, type TensorComparison, type VerifyRule } from '../tensor/compare-tensors.js';
import { describeComparison, parseTolerance, ruleText, summaryText, toMarkdown, verdictText } from '../verify/verify-report.js';
import { verifySets, type VerifyReport } from '../verify/verify-sets.js';
import { behaviourLines, behaviourMarkdown, type BehaviourReport } from '../verify/behaviour.js';
import { verifyBehaviour, type VerifyBehaviourOptions } from '../node/verify-behaviour.js';
import { bold, green, red, type Io } from './output.js';
import { ProgressBar } from './progress.js';
import { inFile } from '../errors.js';
import { EXIT_FINDING, EXIT_OK, exitStatusHelp } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';
import { applyRemoteOptions, REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';

export const verifyCommand: Command = {
  name: 'verify',
  help: `Usage: tensorsafe verify A B [--atol X] [--rtol Y] [--allow-dtype-change]
                       [--json | --markdown] [--key PATH] [--skip-unknown]
                       [--dequantize]
       tensorsafe verify ORIGINAL CONVERTED.safetensors --run [--seed N]
                       [--dim NAME=N]... [--inputs FILE.npz]
                       [--tolerance X] [--json | --markdown]

Compares every tensor of two models, matched by name. A and B are files,
sharded sets or model folders of any format tensorsafe reads (PyTorch,
NumPy, safetensors, …: each file's format is found from its bytes),
http(s) URLs of TF.js model.json files, or Hub files and repositories, read
without running anything; dangerous files are refused. Tied
weights recorded by a converter (metadata "removed -> kept") are matched
through their kept name. Both models are streamed in chunks: memory stays
bounded on models larger than RAM.

Per tensor: identical; close (equal within tolerance); different (with max
absolute and relative error, values outside the tolerance, cosine similarity,
NaN and infinity agreement); shape or dtype mismatch; missing (in A, not B);
extra (in B, not A).

With --run, the behaviour too: ORIGINAL (an ONNX model, or a TF.js graph
model's model.json) is run as it is and again with the converted weights in
place of its own (ONNX: put back into the graph's initializers and Constant
values; TF.js: the same topology with the converted weights), on the same
inputs, in onnxruntime-node or @tensorflow/tfjs's CPU backend (optional
packages: npm install onnxruntime-node, or @tensorflow/tfjs). Every output is
reported with its dtype, shape and largest difference (in ulps for floats):
identical for a lossless conversion. Only the graph is given to the runtime;
nothing else in either file is run.

Options:
  --atol X              absolute tolerance (default 0: bit for bit)
  --rtol Y              relative tolerance: |a - b| <= atol + rtol * |b|
  --allow-dtype-change  compare values across dtypes (F32 against BF16)
                        instead of calling it a mismatch
  --json                the whole report as one JSON object
  --markdown            a Markdown report for a pull-request comment
  --key PATH            where the weights are in a training checkpoint
  --skip-unknown        keep unknown objects in checkpoints as placeholders
  --dequantize          read TFLite models' quantized tensors as F32, as
                        convert --dequantize writes them
  --run                 run both models and compare their outputs (above)
  --seed N              seed of the generated inputs (default 0): floats in
                        [-1, 1), integers in [0, 4), booleans
  --dim NAME=N          the size of the open dimension NAME (default 1),
                        or of any open one as INPUT:AXIS=N (x:0=8);
                        repeat for several. More rows make a change that
                        rounding hides in one row more likely to show
  --inputs FILE.npz     the inputs, one array per input name, instead of
                        generated ones
  --tolerance X         with --run: an output whose largest absolute
                        difference is at most X counts as the same
                        (default 0: bit for bit)
  -h, --help            show this help

${REMOTE_HELP}

${exitStatusHelp({ ok: 'every tensor matches under the rule (and, with --run, every output)', finding: 'the models differ (a tensor or, with --run, an output: named)', badInput: 'A or B missing, unreadable, refused or not a model (the error names it)' })}

Examples:
  tensorsafe verify pytorch_model.bin model.safetensors
  tensorsafe verify ./model-fp32/ ./model-bf16/ --allow-dtype-change --rtol 1e-2
  tensorsafe verify old/ new/ --markdown > comment.md
  tensorsafe verify model.onnx model.safetensors --run --dim batch=4
  tensorsafe verify openai-community/gpt2 ./gpt2-converted/`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({
        args: argv,
        options: {
          atol: { type: 'string' },
          rtol: { type: 'string' },
          'allow-dtype-change': { type: 'boolean' },
          json: { type: 'boolean' },
          markdown: { type: 'boolean' },
          key: { type: 'string' },
          'skip-unknown': { type: 'boolean' },
          dequantize: { type: 'boolean' },
          run: { type: 'boolean' },
          seed: { type: 'string' },
          dim: { type: 'string', multiple: true },
          inputs: { type: 'string' },
          tolerance: { type: 'string' },
          ...REMOTE_OPTIONS,
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (positionals.length !== 2) throw new UsageError('verify takes exactly two models, A and B');
    applyRemoteOptions(values);
    if (values.json && values.markdown) throw new UsageError('--json and --markdown cannot be used together');
    const rule: VerifyRule = {
      ...BIT_EXACT,
      atol: tolerance(values.atol, '--atol'),
      rtol: tolerance(values.rtol, '--rtol'),
      allowDtypeChange: Boolean(values['allow-dtype-change']),
    };
    const runOptions = behaviourOptions(values);
    const [aPath, bPath] = positionals as [string, string];
    const opened: TensorSet[] = [];
    const bar = new ProgressBar(process.stderr, !values.json && !values.markdown && Boolean(process.stderr.isTTY) && !process.env['CI']);
    let report: VerifyReport;
    try {
      const open = (target: string): ReturnType<typeof openModel> => openModel(target, { key: values.key, skipUnknown: values['skip-unknown'], dequantize: values.dequantize }).catch((e: unknown) => Promise.reject(inFile(e, target)));
      const a = await open(aPath);
      opened.push(a);
      const b = await open(bPath);
      opened.push(b);
      report = await verifySets(aPath, a, bPath, b, rule, (p) => bar.update('verifying', p.done, p.total));
    } finally {
      bar.done();
      await Promise.all(opened.map((s) => s.close()));
    }
    let behaviour: BehaviourReport | undefined;
    if (runOptions) {
      try {
        behaviour = await verifyBehaviour(aPath, bPath, runOptions);
      } catch (e) {
        // The tensors' verdict is printed before the error that stopped the run (one JSON object under --json: the error's).
        if (!values.json && !values.markdown) printReport(report, io);
        throw e;
      }
    }
    const ok = report.ok && (behaviour?.ok ?? true);
    if (values.json) io.out(JSON.stringify(behaviour ? { ...report, ok, tensorsOk: report.ok, behaviour } : report));
    else if (values.markdown) io.out(toMarkdown(report) + (behaviour ? `\n\n${behaviourMarkdown(behaviour)}` : ''));
    else {
      printReport(report, io);
      if (behaviour) for (const [i, line] of behaviourLines(behaviour).entries()) io.out(i === 0 ? bold(io, line) : line.startsWith('✓') ? green(io, line) : line.startsWith('✗') ? red(io, line) : line);
    }
    return ok ? EXIT_OK : EXIT_FINDING;
  },
};

/** The options of --run, checked; undefined without --run (and its options refused then). */
function behaviourOptions(values: { run?: boolean; seed?: string; dim?: string[]; inputs?: string; tolerance?: string }): VerifyBehaviourOptions | undefined {
  if (!values.run) {
    const stray = (['seed', 'dim', 'inputs', 'tolerance'] as const).find((k) => values[k] !== undefined);
    if (stray) throw new UsageError(`--${stray} is an option of --run`);
    return undefined;
  }
  if (values.seed !== undefined && values.inputs !== undefined) throw new UsageError('--seed generates inputs; --inputs gives them: use one');
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^\d+$/.test(values.seed) || !Number.isSafeInteger(seed) || seed > 0xffffffff) throw new UsageError(`--seed must be an integer from 0 to 4294967295, got ${JSON.stringify(values.seed)}`);
  }
  const dims: Record<string, number> = {};
  for (const d of values.dim ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(d);
    if (!m || Number(m[2]) < 1 || !Number.isSafeInteger(Number(m[2]))) throw new UsageError(`--dim must be NAME=N with N a positive integer, got ${JSON.stringify(d)}`);
    dims[m[1]!] = Number(m[2]);
  }
  return {
    ...(seed !== undefined ? { seed } : {}),
    dims,
    ...(values.inputs !== undefined ? { inputs: values.inputs } : {}),
    tolerance: tolerance(values.tolerance, '--tolerance'),
  };
}

function tolerance(text: string | undefined, flag: string): number {
  const v = parseTolerance(text);
  if (v === undefined) throw new UsageError(`${flag} must be a non-negative number, got ${JSON.stringify(text)}`);
  return v;
}

function printReport(r: VerifyReport, io: Io): void {
  io.out(`${bold(io, r.a)} against ${bold(io, r.b)} (${ruleText(r.rule)})`);
  for (const t of r.tensors.filter((x) => x.status !== 'identical')) io.out(`  ${statusMark(t, io)} ${t.name}${t.matchedAs ? ` (as ${t.matchedAs})` : ''}: ${describeComparison(t)}`);
  io.out(`${summaryText(r)}`);
  io.out(r.ok ? green(io, verdictText(r)) : red(io, verdictText(r)));
}

function statusMark(t: TensorComparison, io: Io): string {
  return t.status === 'close' ? green(io, '≈') : red(io, '✗');
}
