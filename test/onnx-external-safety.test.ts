import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertModel } from '../src/node/convert.js';
import { openModelFile } from '../src/node/open-files.js';
import { tempDir } from './helpers/temp.js';
import { onnxModel, pb } from './fixtures/scan/craft.js';

/**
 * ONNX external data, the hostile side: the `checksum` a model gives (a SHA-1 hex digest, fixtures
 * test/fixtures/onnx-external/checksum-{ok,bad} from scripts/make-onnx-fixtures.py) checked while the
 * bytes stream, and the known external-data path attacks on ONNX loaders, each refused with nothing
 * written.
 */

const EXT = path.join(import.meta.dirname, 'fixtures', 'onnx-external');

async function sha256(t: { chunks(n?: number): AsyncIterable<Uint8Array> }, n?: number): Promise<string> {
  const h = createHash('sha256');
  for await (const c of t.chunks(n)) h.update(c);
  return h.digest('hex');
}

/** A FLOAT [4] tensor (16 bytes) whose data is external, with these external_data entries. */
function externalModel(entries: [string, string][]): Uint8Array {
  const kv = entries.map(([k, v]) => pb.msg(13, pb.str(1, k), pb.str(2, v)));
  return onnxModel([pb.msg(5, pb.int(1, 4), pb.int(2, 1), pb.str(8, 'w'), ...kv, pb.int(14, 1))]);
}

/** A folder with `model.onnx` (bytes given) and `data.bin` (32 bytes, 0..31). */
function folder(root: string, model: Uint8Array): { dir: string; file: string; data: Uint8Array } {
  const dir = fs.mkdtempSync(path.join(root, 'm-'));
  const data = Uint8Array.from({ length: 32 }, (_, i) => i);
  fs.writeFileSync(path.join(dir, 'data.bin'), data);
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, model);
  return { dir, file, data };
}

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

describe('ONNX external data checksum', () => {
  const tmp = tempDir('onnx-checksum');

  it('a right checksum (python3-onnx set_external_data) reads and converts', async () => {
    const model = path.join(EXT, 'checksum-ok', 'model.onnx');
    const expected = JSON.parse(fs.readFileSync(`${model}.expected.json`, 'utf8')) as { tensors: { name: string; sha256: string }[] };
    const opened = await openModelFile(model, { scan: false });
    try {
      for (const [i, t] of opened.tensors.tensors.entries()) {
        expect([t.name, await sha256(t)]).toEqual([expected.tensors[i]!.name, expected.tensors[i]!.sha256]);
        expect([t.name, await sha256(t, 8)]).toEqual([expected.tensors[i]!.name, expected.tensors[i]!.sha256]);
      }
    } finally {
      await opened.tensors.close();
    }
    const out = path.join(tmp, 'ok.safetensors');
    expect((await convertModel(model, { output: out })).verified).toBe(true);
  });

  it('a wrong checksum fails while streaming with ExternalDataChecksum naming tensor and file; nothing is written', async () => {
    const model = path.join(EXT, 'checksum-bad', 'model.onnx');
    const opened = await openModelFile(model, { scan: false });
    try {
      const b = opened.tensors.tensors.find((t) => t.name === 'b')!;
      const err = await sha256(b).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code).toBe('ExternalDataChecksum');
      expect(err?.message).toContain('"b"');
      expect(err?.message).toContain('data.bin');
      // The other tensor's checksum is right.
      await sha256(opened.tensors.tensors.find((t) => t.name === 'a')!);
    } finally {
      await opened.tensors.close();
    }
    const out = path.join(tmp, 'bad.safetensors');
    await expect(convertModel(model, { output: out })).rejects.toMatchObject({ code: 'ExternalDataChecksum' });
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('bad'))).toEqual([]);
  });

  it("accepts the spec's whole-file digest for a tensor that is part of the file", async () => {
    const { file, data } = folder(tmp, new Uint8Array());
    fs.writeFileSync(file, externalModel([['location', 'data.bin'], ['offset', '16'], ['length', '16'], ['checksum', sha1(data)]]));
    const opened = await openModelFile(file, { scan: false });
    try {
      expect(await sha256(opened.tensors.tensors[0]!)).toBe(createHash('sha256').update(data.subarray(16)).digest('hex'));
    } finally {
      await opened.tensors.close();
    }
  });

  it("a checksum that is not a SHA-1 hex digest is refused on open", async () => {
    const { file } = folder(tmp, externalModel([['location', 'data.bin'], ['length', '16'], ['checksum', 'md5:abc']]));
    await expect(openModelFile(file, { scan: false })).rejects.toMatchObject({ code: 'ExternalDataRefused' });
  });
});

/**
 * Known attacks through ONNX's external_data `location` (and its range): each is refused with
 * ExternalDataRefused by opening, and a conversion writes nothing.
 */
const EXTERNAL_DATA_ATTACKS: readonly { readonly name: string; readonly entries: [string, string][]; readonly setup?: (dir: string) => void }[] = [
  { name: 'CVE-2022-25882: `..` path traversal out of the model folder', entries: [['location', '../../../../../../etc/passwd']] },
  { name: 'CVE-2022-25882: `..` with Windows separators', entries: [['location', '..\\..\\..\\Windows\\win.ini']] },
  { name: 'CVE-2024-27318: `..` after a folder name (bypass of the CVE-2022-25882 fix)', entries: [['location', 'sub/../../../../etc/passwd']] },
  { name: 'CVE-2024-27318: `..` in the middle, mixed separators', entries: [['location', 'a/b\\..\\../../etc/shadow']] },
  { name: 'CVE-2024-27318: an absolute POSIX path', entries: [['location', '/etc/passwd']] },
  { name: 'absolute Windows path with a drive letter', entries: [['location', 'C:\\Windows\\System32\\config\\SAM']] },
  { name: 'Windows drive-relative path', entries: [['location', 'C:data.bin']] },
  { name: 'Windows UNC path (backslashes)', entries: [['location', '\\\\attacker\\share\\w.bin']] },
  { name: 'UNC-like path (forward slashes)', entries: [['location', '//attacker/share/w.bin']] },
  { name: 'a file: URL', entries: [['location', 'file:///etc/passwd']] },
  { name: 'an http URL', entries: [['location', 'http://attacker.example/w.bin']] },
  { name: 'a NUL byte that cuts the name short in C loaders', entries: [['location', 'data.bin\0/../../etc/passwd']] },
  { name: "ONNX Runtime's in-memory address marker", entries: [['location', '*/_ORT_MEM_ADDR_/*'], ['offset', '4096']] },
  { name: 'symlink escape: a file inside the folder linking out', entries: [['location', 'link.bin']], setup: (dir) => fs.symlinkSync('/etc/hostname', path.join(dir, 'link.bin')) },
  { name: 'symlink escape: a folder inside the folder linking out', entries: [['location', 'etc/hostname']], setup: (dir) => fs.symlinkSync('/etc', path.join(dir, 'etc')) },
  { name: 'symlink escape: a relative link climbing out', entries: [['location', 'up.bin']], setup: (dir) => fs.symlinkSync('../../../../../../etc/hostname', path.join(dir, 'up.bin')) },
  { name: 'CVE-2024-27319 class (out-of-bounds read): offset past the end of the file', entries: [['location', 'data.bin'], ['offset', '4096'], ['length', '16']] },
  { name: 'CVE-2024-27319 class (out-of-bounds read): length past the end of the file', entries: [['location', 'data.bin'], ['offset', '24'], ['length', '16']] },
  { name: 'a negative offset', entries: [['location', 'data.bin'], ['offset', '-16']] },
  { name: 'an unknown key a loader might follow', entries: [['location', 'data.bin'], ['basepath', '/etc']] },
  { name: 'a FIFO inside the folder (its open would wait for a writer for ever)', entries: [['location', 'fifo.bin'], ['length', '16']], setup: (dir) => execFileSync('mkfifo', [path.join(dir, 'fifo.bin')]) },
];

describe('ONNX external data attacks (named list)', () => {
  const tmp = tempDir('onnx-attacks');
  for (const attack of EXTERNAL_DATA_ATTACKS) {
    it(attack.name, async () => {
      const { dir, file } = folder(tmp, externalModel(attack.entries));
      attack.setup?.(dir);
      await expect(openModelFile(file, { scan: false })).rejects.toMatchObject({ code: 'ExternalDataRefused' });
      const out = path.join(dir, 'out.safetensors');
      await expect(convertModel(file, { output: out })).rejects.toBeDefined();
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('out'))).toEqual([]);
    });
  }

  it('the same model with a plain location inside the folder reads (the list refuses for its location alone)', async () => {
    const { file, data } = folder(tmp, externalModel([['location', 'data.bin'], ['length', '16']]));
    const opened = await openModelFile(file, { scan: false });
    try {
      expect(await sha256(opened.tensors.tensors[0]!)).toBe(createHash('sha256').update(data.subarray(0, 16)).digest('hex'));
    } finally {
      await opened.tensors.close();
    }
  });
});
