/**
 * Folders and multi-file models dropped into the page (src/web/worker/models.ts over the grouping
 * rules of src/model/model-files.ts, the CLI's): each model is one card with all its tensors, the
 * files it reads as parts (shards, external data, a package's blobs, a SavedModel's variables) are
 * no cards of their own, nor are a folder's config.json and README; a shard missing from the drop
 * says to drop the whole folder. Expected tensors come from the library in Node.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openModel } from '../src/node.js';
import { craft, entry } from './helpers/craft.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { isLoopback, SKIP_BROWSER, webSession } from './helpers/web-page.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** A Hugging Face-like folder: a sharded safetensors set with its index, and the files beside it that are not models. */
function shardedFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model-00001-of-00002.safetensors'), craft(`{"embed.weight":${entry('F32', [2, 2], 0, 16)},"layer.0.bias":${entry('F32', [4], 16, 32)}}`, 32));
  writeFileSync(path.join(dir, 'model-00002-of-00002.safetensors'), craft(`{"layer.1.weight":${entry('F16', [3, 2], 0, 12)}}`, 12));
  writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: 44 }, weight_map: { 'embed.weight': 'model-00001-of-00002.safetensors', 'layer.0.bias': 'model-00001-of-00002.safetensors', 'layer.1.weight': 'model-00002-of-00002.safetensors' } }),
  );
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['TinyModel'], hidden_size: 4, model_type: 'tiny' }));
  writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ max_length: 20 }));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { a: 0 } } }));
  writeFileSync(path.join(dir, 'README.md'), '# tiny\n\nA model card.\n');
  writeFileSync(path.join(dir, '.gitattributes'), '*.safetensors filter=lfs diff=lfs merge=lfs -text\n');
}

/** The cards shown: name, verdict text, tensor count, error text. */
async function cards(page: Page): Promise<{ name: string; verdict: string; tensors: string; error: string }[]> {
  return page.locator('.card').evaluateAll((els) =>
    els.map((el) => ({
      name: el.querySelector('.card-title')?.textContent ?? '',
      verdict: el.querySelector('[data-testid=verdict] .badge')?.textContent ?? '',
      tensors: el.querySelector('.table-status')?.textContent ?? '',
      error: el.querySelector('.error')?.textContent ?? '',
    })),
  );
}

async function pick(page: Page, input: 'folder-input' | 'file-input', files: string | string[]): Promise<void> {
  await page.locator(`[data-testid=${input}]`).setInputFiles(files);
  await page.waitForFunction(() => document.querySelectorAll('.card').length > 0 || document.querySelector('.cards > p.error') !== null, undefined, { timeout: 60_000 });
  // The page's status line is emptied once every file given is opened.
  await page.waitForFunction(() => document.querySelector('.busy')?.textContent === '', undefined, { timeout: 60_000 });
}

async function tensorNames(file: string): Promise<string[]> {
  const model = await openModel(file);
  try {
    return model.tensors.map((t) => t.name);
  } finally {
    await model.close();
  }
}

describe.skipIf(SKIP_BROWSER)('folders and multi-file models in the web page', () => {
  const root = tempDir('web-folders');
  const session = webSession();

  it('a Hugging Face-like folder: one card for its sharded set (every tensor), none for config.json, README or the tokenizer', async () => {
    const dir = path.join(root, 'hf', 'tiny-model');
    shardedFolder(dir);
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.name).toBe('tiny-model/model.safetensors.index.json');
    expect(shown[0]!.verdict).toBe('safe');
    expect(shown[0]!.tensors).toBe('3 tensors');
    expect(await page.locator('[data-testid=tensor-row] td.name').allTextContents()).toEqual(await tensorNames(path.join(dir, 'model.safetensors.index.json')));
  }, 60_000);

  it('the same set picked as files: one card', async () => {
    const dir = path.join(root, 'hf', 'tiny-model');
    const { page } = await session.newPage();
    await pick(page, 'file-input', ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'config.json', 'README.md'].map((f) => path.join(dir, f)));
    const shown = await cards(page);
    expect(shown.map((c) => [c.name, c.tensors])).toEqual([['model.safetensors.index.json', '3 tensors']]);
  }, 60_000);

  it('a shard missing from the drop: an error that says to drop the whole folder', async () => {
    const dir = path.join(root, 'missing', 'tiny-model');
    shardedFolder(dir);
    rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    const { page } = await session.newPage();
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.error).toMatch(/model-00002-of-00002\.safetensors/);
    expect(shown[0]!.error).toMatch(/drop the whole folder/);
  }, 60_000);

  it('a TF.js folder (model.json and its shards): one card', async () => {
    const dir = path.join(root, 'tfjs', 'web_model');
    mkdirSync(dir, { recursive: true });
    cpSync(path.join(FIXTURES, 'formats', 'tfjs', 'layers-model.json'), path.join(dir, 'model.json'));
    mkdirSync(path.join(dir, 'shards'));
    for (const s of ['layers-shard1of3.bin', 'layers-shard2of3.bin', 'layers-shard3of3.bin']) cpSync(path.join(FIXTURES, 'formats', 'tfjs', 'shards', s), path.join(dir, 'shards', s));
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown.map((c) => c.name)).toEqual(['web_model/model.json']);
    expect(await page.locator('[data-testid=tensor-row] td.name').allTextContents()).toEqual(await tensorNames(path.join(dir, 'model.json')));
  }, 60_000);

  it('ONNX with external data: one card, the data file not shown as a model', async () => {
    const dir = path.join(root, 'onnx', 'exported');
    mkdirSync(dir, { recursive: true });
    cpSync(path.join(FIXTURES, 'onnx-external', 'model.onnx'), path.join(dir, 'model.onnx'));
    cpSync(path.join(FIXTURES, 'onnx-external', 'weights'), path.join(dir, 'weights'), { recursive: true });
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown.map((c) => [c.name, c.verdict])).toEqual([['exported/model.onnx', 'safe']]);
    expect(await page.locator('[data-testid=tensor-row] td.name').allTextContents()).toEqual(await tensorNames(path.join(dir, 'model.onnx')));
  }, 60_000);

  it('a TensorFlow SavedModel folder: one card with its variables', async () => {
    const dir = path.join(root, 'savedmodel', 'model');
    cpSync(path.join(FIXTURES, 'tf-checkpoint', 'safe-saver'), dir, { recursive: true });
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.name).toBe('model/saved_model.pb');
    expect(shown[0]!.error).toBe('');
    expect(await page.locator('[data-testid=tensor-row] td.name').allTextContents()).toEqual(await tensorNames(path.join(dir, 'saved_model.pb')));
  }, 60_000);

  it('a Core ML .mlpackage folder: one card', async () => {
    const dir = path.join(root, 'coreml', 'tiny.mlpackage');
    cpSync(path.join(FIXTURES, 'coreml', 'tiny.mlpackage'), dir, { recursive: true });
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown.map((c) => [c.name, c.verdict])).toEqual([['tiny.mlpackage', 'safe']]);
    expect(await page.locator('[data-testid=tensor-row] td.name').allTextContents()).toEqual(await tensorNames(dir));
  }, 60_000);

  it('a compiled Core ML network (.mlmodelc without model.mil): one card saying what to convert instead', async () => {
    const dir = path.join(root, 'coreml', 'network.mlmodelc');
    cpSync(path.join(FIXTURES, 'coreml', 'network.mlmodelc'), dir, { recursive: true });
    const { page } = await session.newPage();
    await pick(page, 'folder-input', dir);
    const shown = await cards(page);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.name).toBe('network.mlmodelc');
    expect(shown[0]!.error).toMatch(/^CoremlUnsupported: /);
    expect(shown[0]!.error).toMatch(/convert the \.mlmodel or \.mlpackage/);
  }, 60_000);

  it('made no request outside 127.0.0.1', () => {
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
  });
});
