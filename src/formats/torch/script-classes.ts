/**
 * What a TorchScript archive says about its classes, read as text and never as code. torch.jit.save
 * writes each class `__torch__.a.b.C` into `code/__torch__/a/b.py` as
 *
 *     class C(Module):
 *       __parameters__ = ["weight", "bias", ]
 *       __buffers__ = ["running_mean", ]
 *       weight : Tensor
 *       ...
 *
 * and torch.jit.load tells a module's parameters and buffers from its other tensor attributes by
 * these two lists alone (data.pkl holds every attribute alike). Only the `class` line and these two
 * lines are matched, by exact patterns; every other line is skipped, nothing is parsed as Python or
 * compiled, and a declaration that does not match exactly is no declaration.
 */

/** Bytes of code/ records read for class declarations, all files together: bounds memory and time on a hostile archive. */
export const MAX_SCRIPT_CODE_BYTES = 64 * 1024 * 1024;

/** A class as its declaration states it. */
export interface ScriptClass {
  /** `class C(Module):`: its instances are modules, with a state_dict. */
  readonly module: boolean;
  /** Attribute names that are parameters, then buffers: undefined when the line is missing or not exact. */
  readonly parameters: readonly string[] | undefined;
  readonly buffers: readonly string[] | undefined;
}

const CLASS_LINE = /^class ([A-Za-z_][A-Za-z0-9_]*)(?:\(([A-Za-z_][A-Za-z0-9_.]*)?\))?:$/;
const NAMES_LINE = /^ {2}(__parameters__|__buffers__) = \[((?:"[^"\\\n]*", )*)\]$/;
const NAME = /"([^"\\\n]*)", /g;

/** Where torch.jit.save writes the classes of `__torch__.a.b`: `code/__torch__/a/b.py`. */
export function codeRecordOf(moduleName: string): string {
  return `code/${moduleName.replace(/\./g, '/')}.py`;
}

/** The class declarations of one code/ record of module `moduleName`, added to `into` as `moduleName.Class`. */
export function readClassDeclarations(text: string, moduleName: string, into: Map<string, ScriptClass>): void {
  let current: { name: string; module: boolean; parameters?: string[]; buffers?: string[] } | undefined;
  const close = (): void => {
    if (current) into.set(`${moduleName}.${current.name}`, { module: current.module, parameters: current.parameters, buffers: current.buffers });
    current = undefined;
  };
  for (const line of text.split('\n')) {
    const cls = CLASS_LINE.exec(line);
    if (cls) {
      close();
      current = { name: cls[1]!, module: cls[2] === 'Module' };
      continue;
    }
    if (!current) continue;
    // A line at column 0 ends the class body.
    if (line.length > 0 && line[0] !== ' ') {
      close();
      continue;
    }
    const names = NAMES_LINE.exec(line);
    if (!names) continue;
    const list = [...names[2]!.matchAll(NAME)].map((m) => m[1]!);
    if (names[1] === '__parameters__') current.parameters = list;
    else current.buffers = list;
  }
  close();
}
