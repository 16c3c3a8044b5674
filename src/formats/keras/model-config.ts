import { isKerasModule, MAX_KERAS_CONFIG_CHARS, MAX_KERAS_CONFIG_DEPTH, MAX_KERAS_CONFIG_NODES } from './config-rules.js';
import { KerasError } from './errors.js';

/**
 * What a Keras model config (`config.json` of a `.keras`, the `model_config` attribute of a legacy
 * `.h5`) says, read as data, never evaluated: the model's class and name, its layers (name and class),
 * every named object's class and options (to name Keras 3 variables), and the Lambda layers and custom
 * objects it names (the scan rules judge them; the view lists them).
 */
export interface KerasModelConfig {
  readonly className?: string;
  readonly name?: string;
  /** The model's own layers, in order (`config.layers`; Keras 1/2 Sequential: the config is the list). */
  readonly layers: readonly { readonly name: string; readonly className: string }[];
  /** Every named object in the config (nested models' layers too): its class and its `config` object. */
  readonly objects: ReadonlyMap<string, { readonly className: string; readonly options: Readonly<Record<string, unknown>> }>;
  /** Names of Lambda layers. */
  readonly lambdas: readonly string[];
  /** Custom objects: `<class> (<module or registered name>)`, outside Keras's own modules. */
  readonly customObjects: readonly string[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses config text; `where` names it in errors (`model.keras:config.json`, `model.h5 (model_config)`). */
export function parseModelConfig(text: string, where: string): KerasModelConfig {
  if (text.length > MAX_KERAS_CONFIG_CHARS) {
    throw new KerasError('KerasLimit', `${where}: the config is ${text.length} characters, more than MAX_KERAS_CONFIG_CHARS (${MAX_KERAS_CONFIG_CHARS})`, { location: where });
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new KerasError('InvalidKeras', `${where}: the model config is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { location: where, cause: e });
  }
  if (!isObject(root)) throw new KerasError('InvalidKeras', `${where}: the model config is not a JSON object`, { location: where });
  return summarize(root);
}

function summarize(root: Json): KerasModelConfig {
  const config = root['config'];
  // Keras 1/2 Sequential: "config" is the list of layers; later: {"name", "layers": [...]}.
  const list = Array.isArray(config) ? config : isObject(config) && Array.isArray(config['layers']) ? config['layers'] : [];
  const layers: { name: string; className: string }[] = [];
  for (const l of list) {
    if (!isObject(l) || typeof l['class_name'] !== 'string') continue;
    const c = l['config'];
    const name = isObject(c) && typeof c['name'] === 'string' ? c['name'] : typeof l['name'] === 'string' ? l['name'] : undefined;
    if (name !== undefined) layers.push({ name, className: l['class_name'] });
  }
  const objects = new Map<string, { className: string; options: Json }>();
  const lambdas: string[] = [];
  const customObjects = new Set<string>();
  // Every object in the JSON, without recursion, bounded as the scan rules bound it.
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  let visited = 0;
  while (stack.length > 0 && visited++ < MAX_KERAS_CONFIG_NODES) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null || depth >= MAX_KERAS_CONFIG_DEPTH) continue;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ value: children[i], depth: depth + 1 });
    if (Array.isArray(value)) continue;
    const o = value as Json;
    const cls = o['class_name'];
    if (typeof cls !== 'string') continue;
    const c = o['config'];
    if (isObject(c) && typeof c['name'] === 'string') {
      if (!objects.has(c['name'])) objects.set(c['name'], { className: cls, options: c });
      if (cls === 'Lambda') lambdas.push(c['name']);
    }
    const custom = customOrigin(o);
    if (custom !== undefined) customObjects.add(`${cls} (${custom})`);
  }
  return {
    ...(typeof root['class_name'] === 'string' ? { className: root['class_name'] } : {}),
    ...(isObject(config) && typeof config['name'] === 'string' ? { name: config['name'] } : {}),
    layers,
    objects,
    lambdas,
    customObjects: [...customObjects],
  };
}

/** Where a custom object comes from (its module or registered package), or undefined for Keras's own. */
function customOrigin(o: Json): string | undefined {
  const mod = typeof o['module'] === 'string' ? o['module'] : undefined;
  const registered = typeof o['registered_name'] === 'string' ? o['registered_name'] : undefined;
  if (mod !== undefined && !isKerasModule(mod)) return `module ${mod}`;
  if (registered?.includes('>') && !isKerasModule(registered.slice(0, registered.indexOf('>')))) return `registered as ${registered}`;
  return undefined;
}
