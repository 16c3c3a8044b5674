import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { onInterrupt } from '../node/interrupt.js';
import { DEFAULT_WEB_HOST, DEFAULT_WEB_PORT, startWebServer } from '../node/web-server.js';
import { EXIT_OK, exitStatusHelp } from './exit-codes.js';
import { bold, dim, type Io } from './output.js';
import { parsing, UsageError, type Command } from './usage.js';

export const webCommand: Command = {
  name: 'web',
  help: `Usage: tensorsafe web [--port N] [--host ADDRESS] [--open]

Serves the tensorsafe page: drop model files or folders into it (or type a
URL) to see their format, scan verdict, metadata and tensors, a tensor's
values, and to convert, compare, hash, sign and check signatures, all in the
browser. Nothing is uploaded: the files are read by the page itself, and the
page makes no request but for its own files and the URLs you type.

The page is static files (dist/web in the package); this command serves them
with Node's http module until you press Ctrl-C. They can be hosted anywhere
else as they are.

Options:
  --port N        port to listen on (default ${DEFAULT_WEB_PORT}; 0 picks a free one)
  --host ADDRESS  address to listen on (default ${DEFAULT_WEB_HOST}: this machine
                  only; 0.0.0.0 lets other machines open the page)
  --open          open the page in the default browser
  -h, --help      show this help

${exitStatusHelp({ ok: '--help (it serves until stopped: Ctrl-C exits 130)', badInput: 'the address or port cannot be listened on' })}

Examples:
  tensorsafe web --open
  tensorsafe web --port 0
  npx tensorsafe web --host 0.0.0.0 --port 8080`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, open: { type: 'boolean' } }, allowPositionals: true, strict: true }),
    );
    if (positionals.length > 0) throw new UsageError(`web takes no files (${positionals[0]}): drop them into the page`);
    const port = values.port === undefined ? DEFAULT_WEB_PORT : Number(values.port);
    if (!/^\d+$/.test(values.port ?? '0') || !Number.isSafeInteger(port) || port > 65535) throw new UsageError(`--port ${values.port}: a port is a whole number from 0 to 65535`);
    const host = values.host ?? DEFAULT_WEB_HOST;
    if (host === '') throw new UsageError('--host needs an address (127.0.0.1, ::1, 0.0.0.0)');
    const server = await startWebServer({ port, host });
    io.out(`${bold(io, 'tensorsafe web')} serving the page at ${server.url}`);
    if (host !== DEFAULT_WEB_HOST && host !== 'localhost' && host !== '::1') {
      io.err(dim(io, `listening on ${host}: other machines that reach it can open the page (files dropped into it still stay in their browser)`));
    }
    io.out(dim(io, 'files dropped into the page stay in the browser; press Ctrl-C to stop'));
    if (values.open) openInBrowser(server.url, io);
    await new Promise<void>((resolve) => {
      onInterrupt(async () => {
        await server.close();
        resolve();
      });
    });
    return EXIT_OK;
  },
};

/** Opens the URL with the platform's opener; says so when there is none (the URL is printed anyway). */
function openInBrowser(url: string, io: Io): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => io.err(`could not start ${command} to open the page: open ${url} yourself`));
    child.unref();
  } catch {
    io.err(`could not open the page: open ${url} yourself`);
  }
}
