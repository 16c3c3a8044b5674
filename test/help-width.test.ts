import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { COMMANDS } from '../src/cli/main.js';

/** Help is read in an 80-column terminal: a longer line wraps mid-word there. */
const HELP_COLUMNS = 80;

function wideLines(text: string): string[] {
  return text.split('\n').filter((line) => [...line].length > HELP_COLUMNS);
}

describe('--help', () => {
  it(`tensorsafe --help fits ${HELP_COLUMNS} columns`, async () => {
    const r = await runCli('--help');
    expect(r.code).toBe(0);
    expect(wideLines(r.stdout)).toEqual([]);
  });

  for (const { name } of COMMANDS) {
    it(`tensorsafe ${name} --help fits ${HELP_COLUMNS} columns`, async () => {
      const r = await runCli(name, '--help');
      expect(r.code).toBe(0);
      expect(wideLines(r.stdout + r.stderr)).toEqual([]);
    });
  }

  it("names every convert output format in the command list and convert's own help", async () => {
    const main = (await runCli('--help')).stdout;
    const convertLine = main.split('\n').find((line) => line.trimStart().startsWith('convert '))!;
    const convertHelp = (await runCli('convert', '--help')).stdout;
    const intro = convertHelp.slice(convertHelp.indexOf('Converts a model'), convertHelp.indexOf('The format is found'));
    for (const format of ['safetensors', 'NumPy', 'GGUF', 'TF.js']) {
      expect([format, convertLine.includes(format)]).toEqual([format, true]);
      expect([format, intro.includes(format)]).toEqual([format, true]);
    }
  });

  it('convert --help names the input formats of issue 13, and inspect --help every format with a view of its own', async () => {
    const convertHelp = (await runCli('convert', '--help')).stdout.replace(/\s+/g, ' ');
    for (const name of ['TorchScript', 'TensorFlow SavedModel', 'checkpoint (.index', 'Core ML', 'PMML', 'PFA']) expect([name, convertHelp.includes(name)]).toEqual([name, true]);
    const inspectHelp = (await runCli('inspect', '--help')).stdout.replace(/\s+/g, ' ');
    const viewList = inspectHelp.slice(inspectHelp.indexOf('with a view of their own'));
    for (const name of ['TensorFlow', 'Core ML', 'PMML', 'PFA']) {
      expect([name, inspectHelp.slice(0, inspectHelp.indexOf('Only the structure')).includes(`${name}:`)]).toEqual([name, true]);
      expect([name, viewList.includes(name)]).toEqual([name, true]);
    }
  });
});
