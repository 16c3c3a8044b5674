// Benchmarks of the runtime adapters (issue 15): a tfjs LayersModel's weights loaded from a safetensors
// file with loadWeights, against tfjs's own loadLayersModel from its model.json and weight shards; the
// weights saved with saveWeights against tfjs's model.save; and ONNX Runtime feeds made from a
// safetensors file against reading the file. Both sides start from files on disk in the page cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, ensureTmp, fmtMB, fmtMs, ratio, verdict, ROOT } from './lib.js';

const tf = await import('@tensorflow/tfjs');
const ort = await import('onnxruntime-node');
const { loadWeights, saveWeights } = await import(path.join(ROOT, 'dist/tfjs.js'));
const { toOrtTensors } = await import(path.join(ROOT, 'dist/onnxruntime.js'));
const { loadFile } = await import(path.join(ROOT, 'dist/node.js'));

/** An MLP of `layers` dense layers of `width` units: width² × layers float32 weights. */
function buildModel(width, layers) {
  const model = tf.sequential();
  for (let i = 0; i < layers; i++) model.add(tf.layers.dense({ units: width, inputShape: i === 0 ? [width] : undefined, name: `dense_${i}` }));
  return model;
}

export async function run({ sizeMiB = 128, runs = 5 } = {}) {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const tmp = ensureTmp();
  const width = 1024;
  const layers = Math.max(1, Math.round(sizeMiB / 4));
  const model = buildModel(width, layers);

  // tfjs's own format: model.json (topology and weights manifest) and one weights file.
  const artifacts = await model.save(tf.io.withSaveHandler(async (a) => ({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' }, ...a })));
  const { modelTopology, weightSpecs } = artifacts;
  const weightData = Buffer.from(artifacts.weightData);
  const jsonFile = path.join(tmp, 'runtime-model.json');
  const binFile = path.join(tmp, 'runtime-weights.bin');
  fs.writeFileSync(jsonFile, JSON.stringify({ modelTopology, weightsManifest: [{ paths: ['runtime-weights.bin'], weights: weightSpecs }] }));
  fs.writeFileSync(binFile, weightData);
  const stFile = path.join(tmp, 'runtime-model.safetensors');
  fs.writeFileSync(stFile, await saveWeights(model));
  const size = fs.statSync(stFile).size;

  // Into a model already built (as a user's code builds it): the same work on both sides.
  let built;
  const build = async () => {
    built?.dispose();
    built = await tf.models.modelFromJSON({ modelTopology: JSON.parse(fs.readFileSync(jsonFile, 'utf8')).modelTopology });
  };
  const [tTfjsSet, tStSet] = await compare(
    runs,
    [
      async () => {
        const manifest = JSON.parse(fs.readFileSync(jsonFile, 'utf8')).weightsManifest[0].weights;
        const bin = fs.readFileSync(binFile);
        const named = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest);
        built.loadWeights(named);
        tf.dispose(Object.values(named));
      },
      async () => loadWeights(tf, built, new Uint8Array(fs.readFileSync(stFile))),
    ],
    build,
  );
  built.dispose();

  // The whole load: tfjs's loadLayersModel builds the model with zeros (it knows the weights follow); a
  // model built by code draws its random initial weights first, which is most of this row's time.
  const tfjsLoad = async () => {
    const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    const bin = fs.readFileSync(binFile);
    const m = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }));
    m.dispose();
  };
  const safetensorsLoad = async () => {
    const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    const m = await tf.models.modelFromJSON({ modelTopology: json.modelTopology });
    await loadWeights(tf, m, new Uint8Array(fs.readFileSync(stFile)));
    m.dispose();
  };
  const [tTfjsLoad, tStLoad] = await compare(runs, [tfjsLoad, safetensorsLoad]);

  // Saved into memory-backed files where there are some: 128 MiB written to disk twice per run makes the
  // kernel's writeback stall whichever write comes next, and the ratio then measures the disk, not the save.
  const saveDir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/tensorsafe-bench-') : tmp;
  const savedBin = path.join(saveDir, 'saved-weights.bin');
  const savedSt = path.join(saveDir, 'saved.safetensors');
  const [tTfjsSave, tStSave] = await compare(runs, [
    () => model.save(tf.io.withSaveHandler(async (a) => (fs.writeFileSync(savedBin, Buffer.from(a.weightData)), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }))),
    async () => fs.writeFileSync(savedSt, await saveWeights(model)),
  ]);
  for (const f of [savedBin, savedSt]) fs.rmSync(f, { force: true });
  if (saveDir !== tmp) fs.rmSync(saveDir, { recursive: true, force: true });

  const [tRead, tFeeds] = await compare(runs, [() => fs.readFileSync(stFile), async () => toOrtTensors(ort, await loadFile(stFile))]);

  model.dispose();
  for (const f of [jsonFile, binFile, stFile]) fs.rmSync(f, { force: true });
  const input = `${layers} dense layers of ${width}×${width}, ${fmtMB(size)} of float32`;
  const rows = [
    ['tfjs: `loadWeights` from a safetensors file vs tfjs\'s own weights file (`decodeWeights` + `model.loadWeights`), into a built model', input, `${fmtMs(tStSet)} vs ${fmtMs(tTfjsSet)}`, ratio(tStSet / tTfjsSet), verdict(tStSet / tTfjsSet, 1.5)],
    ['tfjs: the model built from its JSON + `loadWeights` vs tfjs `loadLayersModel` from model.json and its weights file', `${input} (building draws random initial weights; loadLayersModel builds with zeros)`, `${fmtMs(tStLoad)} vs ${fmtMs(tTfjsLoad)}`, ratio(tStLoad / tTfjsLoad), '(context)'],
    ['tfjs: `saveWeights` to a safetensors file vs tfjs `model.save` of its weights file (both written to /dev/shm, where a disk’s writeback cannot decide the ratio)', input, `${fmtMs(tStSave)} vs ${fmtMs(tTfjsSave)}`, ratio(tStSave / tTfjsSave), verdict(tStSave / tTfjsSave, 1.5)],
    ['ONNX Runtime: `loadFile` + `toOrtTensors` (feeds sharing the bytes read) vs `fs.readFileSync` of the file', `the same ${fmtMB(size)} file`, `${fmtMs(tFeeds)} vs ${fmtMs(tRead)}`, ratio(tFeeds / tRead), verdict(tFeeds / tRead, 1.5)],
  ];
  return [
    '## Runtime adapters (issue 15)',
    '',
    '| benchmark | input | time | ratio | target |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
