/**
 * What the look-and-accessibility and screenshot tests of the web page share: the models they open
 * (the bundled sample, safe, and a crafted PyTorch checkpoint whose pickle would call os.system,
 * built here as bytes and never loaded by Python), axe-core run inside the page, and a check that a
 * screenshot is not blank.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from './paths.js';
import { buildZip } from './zip-writer.js';

export const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'torch', 'sample', 'pytorch_model.bin');

/** A PyTorch zip checkpoint whose data.pkl imports posix.system and calls it with "id" (what torch.load would run). */
export function maliciousCheckpoint(): Uint8Array {
  const pickle = Buffer.from('\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.', 'latin1');
  return buildZip([
    { name: 'untrusted_model/data.pkl', data: new Uint8Array(pickle), align: 64 },
    { name: 'untrusted_model/version', data: '3\n', align: 64 },
  ]);
}

/** A temporary folder holding the malicious checkpoint as untrusted_model.pt; remove it with `dispose`. */
export function writeMalicious(): { file: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-web-looks-'));
  const file = path.join(dir, 'untrusted_model.pt');
  fs.writeFileSync(file, maliciousCheckpoint());
  return { file, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * axe-core's violations in the page as it is now. axe is evaluated through the DevTools protocol (the
 * page's CSP allows no inline or foreign script, and is not relaxed for the test).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const source = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

/** The violations that matter here: of serious or critical impact. */
export function serious(violations: AxeViolation[]): AxeViolation[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** How many distinct colours a PNG has (decoded by the page's own browser); a blank capture has one or two. */
export async function distinctColours(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const data = new Uint32Array(g.getImageData(0, 0, canvas.width, canvas.height).data.buffer);
    return new Set(data).size;
  }, png.toString('base64'));
}
