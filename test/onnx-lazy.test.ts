import { describe, expect, it } from 'vitest';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { concat, pb } from './fixtures/scan/craft.js';
import { CountingSource } from './helpers/assertions.js';
import type { Finding, ScanContext } from '../src/formats/findings.js';

/**
 * Opening an ONNX model locates its tensors without reading them: a model whose initializers hold
 * 64 MiB of raw_data is opened reading a few pages of its structure; the bytes are read when streamed.
 */

/** A FLOAT initializer (graph field 5) of `n` elements in raw_data: dims (1), data_type (2) = 1, name (8), raw_data (9). */
function initializer(name: string, n: number): Uint8Array {
  return pb.msg(5, pb.int(1, n), pb.int(2, 1), pb.str(8, name), pb.bytes(9, new Uint8Array(n * 4).fill(7)));
}

describe('ONNX: lazy reading', () => {
  it('opens a model with 64 MiB of initializers reading only its structure', async () => {
    const n = 4 * 1024 * 1024;
    const graph = pb.msg(7, initializer('a', n), initializer('b', n), initializer('c', n), initializer('d', n));
    const model = concat(pb.int(1, 8), graph);
    const source = new CountingSource(new MemorySource(model, 'big.onnx'));
    const { tensors } = await onnxReader.open!(source);
    expect(tensors.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength])).toEqual(['a', 'b', 'c', 'd'].map((x) => [x, 'F32', [n], n * 4]));
    expect(source.bytesRead).toBeLessThan(256 * 1024);
    let total = 0;
    for await (const c of tensors.tensors[2]!.chunks()) {
      expect(c.every((b) => b === 7)).toBe(true);
      total += c.byteLength;
    }
    expect(total).toBe(n * 4);
  });
});

describe('ONNX: one walk per file', () => {
  /** Findings of a scan of `bytes`: from its own walk, or from the structure an open of the same bytes parsed. */
  async function scanFindings(bytes: Uint8Array, reuse: boolean): Promise<{ findings: Finding[]; read: number }> {
    const findings: Finding[] = [];
    const ctx: ScanContext = { file: 'm.onnx', dir: undefined, report: (f) => findings.push(f), scanPickle: () => {} };
    const parsed = reuse ? await onnxReader.open!(new MemorySource(bytes, 'm.onnx')) : undefined;
    const source = new CountingSource(new MemorySource(bytes, 'm.onnx'));
    await onnxReader.scan!(source, ctx, parsed);
    return { findings, read: source.bytesRead };
  }

  it('the scan given an open\'s structure reads nothing and reports what its own walk reports', async () => {
    const evil = pb.msg(5, pb.int(1, 4), pb.int(2, 1), pb.str(8, 'stolen'), pb.msg(13, pb.str(1, 'location'), pb.str(2, '/etc/passwd')), pb.int(14, 1));
    const models = [
      // A custom domain, a Constant, an If with a subgraph initializer, a function and a training graph.
      concat(
        pb.int(1, 8),
        pb.msg(7, initializer('w', 4), pb.msg(1, pb.str(3, 'c'), pb.str(4, 'Constant'), pb.str(2, 'k'), pb.msg(5, pb.str(1, 'value_float'), pb.key(2, 5), Uint8Array.of(0, 0, 128, 63))), pb.msg(1, pb.str(4, 'Decode'), pb.str(7, 'org.custom'))),
        pb.msg(20, pb.msg(1, initializer('t', 2))),
        pb.msg(25, pb.str(1, 'f'), pb.str(10, 'local'), pb.msg(7, pb.str(4, 'Relu'))),
      ),
    ];
    for (const bytes of models) {
      const own = await scanFindings(bytes, false);
      const reused = await scanFindings(bytes, true);
      expect(own.read).toBeGreaterThan(0);
      expect(reused.read).toBe(0);
      expect(reused.findings).toEqual(own.findings);
      expect(own.findings.map((f) => f.rule).sort()).toEqual(['onnx/custom-domain', 'onnx/valid']);
    }
    // A model whose open fails (external data outside) is scanned by its own walk.
    const bad = concat(pb.int(1, 8), pb.msg(7, evil));
    await expect(onnxReader.open!(new MemorySource(bad, 'm.onnx'))).rejects.toMatchObject({ code: 'ExternalDataRefused' });
    expect((await scanFindings(bad, false)).findings.map((f) => f.rule)).toEqual(['onnx/external-data-outside']);
  });

  it('function constants and training graphs are left out with their reason', async () => {
    const bytes = concat(
      pb.int(1, 8),
      pb.msg(7, initializer('w', 2)),
      pb.msg(20, pb.msg(1, initializer('init_w', 2))),
      pb.msg(25, pb.str(1, 'f'), pb.str(10, 'local'), pb.msg(7, pb.str(2, 'k'), pb.str(4, 'Constant'), pb.msg(5, pb.str(1, 'value_floats'), pb.bytes(7, new Uint8Array(8))))),
    );
    const { tensors } = await onnxReader.open!(new MemorySource(bytes, 'm.onnx'));
    expect(tensors.tensors.map((t) => t.name)).toEqual(['w']);
    expect(tensors.leftOut.map((l) => l.path)).toEqual(['training_info[0]/initialization', 'function local.f']);
    expect(tensors.leftOut[0]!.what).toMatch(/training initialization graph/);
    expect(tensors.leftOut[1]!.what).toMatch(/1 Constant value inside the model-local function "f"/);
  });
});
