// A minimal static file server with Range support that counts the body bytes it sends.
import * as fs from 'node:fs';
import * as http from 'node:http';

export async function startRangeServer(file) {
  const stats = { requests: 0, bytesSent: 0 };
  const size = fs.statSync(file).size;
  const server = http.createServer((req, res) => {
    stats.requests++;
    const etag = `"${size.toString(16)}-bench"`;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    if (m) {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        return res.end();
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1, etag, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': size, etag, 'accept-ranges': 'bytes' });
    }
    stats.bytesSent += end - start + 1;
    fs.createReadStream(file, { start, end }).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, stats, close: () => new Promise((r) => server.close(r)) };
}
