import type { ScanContext } from '../findings.js';
import { Findings, show } from '../scan-rules.js';
import { walkKerasConfig } from '../keras/config-rules.js';

/**
 * TF.js `model.json` (tfjs-core/src/io/types.ts): `modelTopology` (a Keras model config for
 * layers-models, a GraphDef for graph-models), `weightsManifest` (groups of shard `paths`, relative
 * URLs resolved against the model.json's URL), and optional training config. A layers-model topology
 * is scanned as a Keras config. A weight path that leaves the model's folder (absolute, `..` segments
 * after resolution, percent-encoded or not, a URL to another origin, a protocol-relative `//host`)
 * makes the loader fetch or read something else as weights: a file from another folder, a request to
 * another server (tracking, SSRF from a server-side loader). A bare weights manifest (an array) is
 * accepted too.
 *
 * Rules: `tfjs/valid` (info); `tfjs/weights-path-outside`, `tfjs/malformed`, `tfjs/limit-exceeded`
 * (suspicious); the keras/* rules on layers-model topologies.
 * Misses: graph-model ops are not judged (TF.js runs only its own kernels; custom ops need code the
 * application registers); whether the shard files exist and match the manifest's sizes. Shards of a local
 * model that are symbolic links out of its folder are reported by the reader's scan (ctx.escapesFolder).
 */

/** model.json bytes read for the scan (real ones are KiB to a few MiB): bounds memory. */
export const MAX_TFJS_JSON_BYTES = 64 << 20;
/** model.json text parsed (real ones are KiB to a few MiB; graph topologies can be larger). */
export const MAX_TFJS_JSON_CHARS = 64 * 1024 * 1024;
/** Weight groups and paths checked in one manifest: bounds the scan's time. */
export const MAX_TFJS_PATHS = 100_000;

/** A base that stands for the model.json's own folder when the model's location is not a URL. */
const PLACEHOLDER_BASE = 'https://model.invalid/a/b/model.json';

export function scanTfjsModelJson(text: string, ctx: ScanContext, location: string): void {
  const findings = new Findings(ctx);
  scan(text, ctx, location, findings);
  findings.flush();
}

function scan(text: string, ctx: ScanContext, location: string, findings: Findings): void {
  if (text.length > MAX_TFJS_JSON_CHARS) {
    findings.add('suspicious', 'tfjs/limit-exceeded', `model.json is ${text.length} characters, more than MAX_TFJS_JSON_CHARS (${MAX_TFJS_JSON_CHARS}); not scanned`, location);
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    findings.add('suspicious', 'tfjs/malformed', `model.json is not valid JSON (${e instanceof Error ? e.message : String(e)})`, location);
    return;
  }
  let manifest: unknown;
  let format = 'weights manifest';
  if (Array.isArray(json)) {
    manifest = json;
  } else if (typeof json === 'object' && json !== null) {
    const m = json as Record<string, unknown>;
    manifest = m['weightsManifest'];
    const topology = m['modelTopology'];
    if (topology !== undefined && topology !== null) {
      if (typeof topology !== 'object' || Array.isArray(topology)) {
        findings.add('suspicious', 'tfjs/malformed', 'modelTopology is not an object', location);
      } else {
        const t = topology as Record<string, unknown>;
        // Layers-models: the Keras config itself, or (converted from Keras) {keras_version, backend, model_config, training_config}.
        const keras = typeof t['class_name'] === 'string' ? t : typeof t['model_config'] === 'object' ? t['model_config'] : undefined;
        if (keras !== undefined) {
          format = 'layers-model';
          walkKerasConfig(keras, findings, `${location}:modelTopology`);
          if (typeof t['training_config'] === 'object' && t['training_config'] !== null) walkKerasConfig(t['training_config'], findings, `${location}:modelTopology.training_config`);
        } else if (Array.isArray(t['node'])) {
          format = `graph-model (${t['node'].length} nodes)`;
        } else {
          format = typeof m['format'] === 'string' ? m['format'] : 'unknown topology';
        }
      }
    }
    const training = m['trainingConfig'];
    if (typeof training === 'object' && training !== null) walkKerasConfig(training, findings, `${location}:trainingConfig`);
    if (manifest === undefined && topology === undefined && !Array.isArray(m['weightSpecs'])) {
      findings.add('suspicious', 'tfjs/malformed', 'neither modelTopology nor weightsManifest: not a TF.js model.json', location);
      return;
    }
  } else {
    findings.add('suspicious', 'tfjs/malformed', 'model.json is not a JSON object', location);
    return;
  }
  let groups = 0;
  let paths = 0;
  let weights = 0;
  if (manifest !== undefined) {
    if (!Array.isArray(manifest)) {
      findings.add('suspicious', 'tfjs/malformed', 'weightsManifest is not an array', location);
      return;
    }
    const base = baseUrl(ctx.file);
    for (const [g, group] of manifest.entries()) {
      if (++groups > MAX_TFJS_PATHS) break;
      if (typeof group !== 'object' || group === null || !Array.isArray((group as Record<string, unknown>)['paths'])) {
        findings.add('suspicious', 'tfjs/malformed', `weightsManifest[${g}] has no paths array`, location);
        continue;
      }
      const gw = (group as Record<string, unknown>)['weights'];
      if (Array.isArray(gw)) weights += gw.length;
      for (const [k, p] of ((group as Record<string, unknown>)['paths'] as unknown[]).entries()) {
        if (++paths > MAX_TFJS_PATHS) {
          findings.add('suspicious', 'tfjs/limit-exceeded', `more than MAX_TFJS_PATHS (${MAX_TFJS_PATHS}) weight paths; the rest were not checked`, location);
          break;
        }
        if (typeof p !== 'string' || p === '') {
          findings.add('suspicious', 'tfjs/malformed', `weightsManifest[${g}].paths[${k}] is not a non-empty string`, location);
          continue;
        }
        const reason = outside(p, base);
        if (reason !== undefined) {
          findings.add(
            'suspicious',
            'tfjs/weights-path-outside',
            `weightsManifest[${g}].paths[${k}] = ${show(p)} ${reason}: the loader would fetch or read it as weights instead of a shard next to model.json`,
            location,
          );
        }
      }
    }
  }
  const specs = !Array.isArray(json) && manifest === undefined ? (json as Record<string, unknown>)['weightSpecs'] : undefined;
  if (!findings.has('suspicious', 'dangerous')) {
    const held = Array.isArray(specs) ? `${specs.length} weights embedded (weightSpecs, base64 weightData)` : `${groups} weight group${groups === 1 ? '' : 's'}, ${paths} shard path${paths === 1 ? '' : 's'}, ${weights} weights`;
    findings.add('info', 'tfjs/valid', `TF.js ${format}: ${held}`, location);
  }
}

/** The model.json's URL when its location is one (http, https, file), else a placeholder with the same meaning. */
function baseUrl(file: string): URL {
  try {
    const u = new URL(file);
    if (/^(https?|file):$/.test(u.protocol)) return u;
  } catch {
    // not a URL: a local path
  }
  return new URL(PLACEHOLDER_BASE);
}

/** Why a weight path leaves the model.json's folder, or undefined. */
function outside(path: string, base: URL): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (/^[a-zA-Z]:[\\/]/.test(path)) return 'is an absolute Windows path';
  if (/^[\\/]{2}/.test(path)) return 'is a protocol-relative URL (another host)';
  if (/^[\\/]/.test(path)) return 'is an absolute path';
  let resolved: URL;
  try {
    resolved = new URL(path, base);
  } catch {
    return 'is not a valid relative URL';
  }
  const explicitScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path);
  if (explicitScheme && resolved.origin !== base.origin) return `is a URL to another origin (${show(resolved.protocol === 'data:' ? 'data:' : resolved.origin)})`;
  if (resolved.origin !== base.origin || resolved.protocol !== base.protocol) return 'resolves to another origin';
  const folder = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  if (!resolved.pathname.startsWith(folder)) return `resolves outside the model's folder (to ${show(resolved.pathname)})`;
  // Paths like "a/%2e%2e/x" are normalised by the URL parser; "..\\" on file systems is caught here.
  if (path.split(/[\\/]/).some((s) => s === '..' || /^(%2e|\.){2}$/i.test(s))) return "has '..' segments";
  // "..%2fx.bin" stays one segment to the URL parser, but a server (or proxy) that decodes %2F / %5C
  // before mapping the path to a file climbs out of the folder with it.
  if (/%(2f|5c)/i.test(path) && path.split(/[\\/]|%2f|%5c/i).some((s) => /^(%2e|\.){2}$/i.test(s))) return "has '..' segments joined by a percent-encoded slash (%2F or %5C), which servers that decode it before mapping paths to files climb out with";
  return undefined;
}
