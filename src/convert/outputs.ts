import { ggufOutput } from './gguf-output.js';
import { npyOutput, npzOutput } from './numpy-output.js';
import type { OutputFormat } from './output-format.js';
import { safetensorsOutput } from './safetensors-output.js';
import { tfjsOutput } from './tfjs-output.js';

/** Every format the pipeline writes (`convertModel`'s `to`); a writer to another format is one more line here. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = [safetensorsOutput, npzOutput, npyOutput, ggufOutput, tfjsOutput];

/** The default output. */
export const DEFAULT_OUTPUT: OutputFormat = safetensorsOutput;

/** The output format with this id, or undefined. */
export function outputFormatById(id: string): OutputFormat | undefined {
  return OUTPUT_FORMATS.find((f) => f.id === id);
}
