import { parseArgs } from 'node:util';
import { elementCount } from '../dtype/tensor.js';
import { safeOpen } from '../node/open-path.js';
import { SafetensorsFile, type SafetensorsHandle } from '../safetensors/reader.js';
import { ShardedSafetensors } from '../safetensors/sharded.js';
import { formatBytes } from '../util/strings.js';
import { bold, dim, grouped, table, type Io } from './output.js';
import { EXIT_OK, exitStatusHelp } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';

export const inspectCommand: Command = {
  name: 'inspect',
  help: `Usage: tensorsafe inspect [--json] FILE|INDEX|DIR|URL

Shows metadata and a table of tensors (name, dtype, shape, bytes) with totals
by dtype. Only the header is read, so this is instant even for huge files and
costs one or two range requests for a URL. Accepts a .safetensors file, a
sharded set's model.safetensors.index.json, a folder holding either, or an
http(s) URL of either.

Options:
  --json      print one JSON object:
                {"file","format","size","headerLength","shards","metadata",
                 "tensors":[{"name","dtype","shape","bytes","offsets","shard"}],
                 "totals":{"tensors","parameters","bytes","byDtype":{…}}}
  -h, --help  show this help

${exitStatusHelp({ ok: 'shown', badInput: 'the file missing, unreadable or not valid safetensors (the code says why)' })}

Examples:
  tensorsafe inspect model.safetensors
  tensorsafe inspect --json model.safetensors.index.json | jq .totals
  tensorsafe inspect https://huggingface.co/gpt2/resolve/main/model.safetensors`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() => parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true }));
    if (positionals.length !== 1) throw new UsageError('inspect takes exactly one FILE, INDEX, DIR or URL');
    const target = positionals[0]!;
    const handle = await safeOpen(target);
    try {
      const report = describe(target, handle);
      if (values.json) io.out(JSON.stringify(report));
      else printReport(report, io);
    } finally {
      await handle.close();
    }
    return EXIT_OK;
  },
};

interface DtypeTotal {
  tensors: number;
  parameters: number;
  bytes: number;
}

export interface InspectReport {
  file: string;
  format: 'safetensors' | 'safetensors-sharded';
  size?: number;
  headerLength?: number;
  shards?: string[];
  metadata: Record<string, string> | null;
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; offsets: [number, number]; shard?: string }[];
  totals: DtypeTotal & { byDtype: Record<string, DtypeTotal> };
}

export function describe(target: string, handle: SafetensorsHandle): InspectReport {
  const sharded = handle instanceof ShardedSafetensors ? handle : undefined;
  const tensors = handle.keys().map((name) => {
    const t = handle.info(name);
    return {
      name,
      dtype: t.dtype,
      shape: [...t.shape],
      bytes: t.byteLength,
      offsets: [t.dataOffsets[0], t.dataOffsets[1]] as [number, number],
      ...(sharded ? { shard: sharded.index.weightMap.get(name)! } : {}),
    };
  });
  const byDtype: Record<string, DtypeTotal> = {};
  const totals = { tensors: 0, parameters: 0, bytes: 0 };
  for (const t of tensors) {
    const d = (byDtype[t.dtype] ??= { tensors: 0, parameters: 0, bytes: 0 });
    const elements = elementCount(t.shape);
    for (const acc of [d, totals]) {
      acc.tensors++;
      acc.parameters += elements;
      acc.bytes += t.bytes;
    }
  }
  const file = handle instanceof SafetensorsFile ? handle : undefined;
  return {
    file: target,
    format: sharded ? 'safetensors-sharded' : 'safetensors',
    ...(file ? { size: file.source.size, headerLength: file.header.headerLength } : {}),
    ...(sharded ? { shards: [...sharded.shards.keys()] } : {}),
    metadata: handle.metadata(),
    tensors,
    totals: { ...totals, byDtype },
  };
}

function printReport(r: InspectReport, io: Io): void {
  const where = r.size !== undefined ? `${formatBytes(r.size)}, header ${formatBytes(r.headerLength ?? 0)}` : `${r.shards?.length ?? 0} shards`;
  io.out(`${bold(io, r.file)}  ${dim(io, `(${r.format}, ${where})`)}`);
  if (r.metadata === null || Object.keys(r.metadata).length === 0) {
    io.out('metadata: none');
  } else {
    io.out('metadata:');
    for (const [k, v] of Object.entries(r.metadata)) io.out(`  ${k}: ${v.length > 200 ? v.slice(0, 200) + '…' : v}`);
  }
  io.out(`tensors: ${grouped(r.totals.tensors)}, parameters: ${grouped(r.totals.parameters)}, data: ${formatBytes(r.totals.bytes)}`);
  if (r.tensors.length > 0) {
    io.out('');
    const head = ['name', 'dtype', 'shape', 'bytes', ...(r.shards ? ['shard'] : [])];
    const rows = r.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, formatBytes(t.bytes), ...(t.shard ? [t.shard] : [])]);
    const lines = table([head, ...rows], [false, false, false, true, false]);
    io.out(bold(io, lines[0]!));
    for (const line of lines.slice(1)) io.out(line);
    io.out('');
    io.out('by dtype:');
    const dt = Object.entries(r.totals.byDtype).map(([d, t]) => [d, plural(t.tensors, 'tensor'), plural(t.parameters, 'parameter'), formatBytes(t.bytes)]);
    for (const line of table(dt, [false, true, true, true])) io.out('  ' + line);
  }
}

function plural(n: number, word: string): string {
  return `${grouped(n)} ${word}${n === 1 ? '' : 's'}`;
}
