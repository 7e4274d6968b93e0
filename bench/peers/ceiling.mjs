// Peer (a): the ceiling. A bare node:http server that does the least a token
// endpoint must do — read a small form POST, parse it, answer a small JSON —
// and nothing else. Its "token" is one JWT signed at start-up, so the harness
// can verify it like every other peer's.
import http from 'node:http';
import { fixedToken, listen, serveCommon } from './common.mjs';

const port = Number(process.env.BENCH_PORT ?? 0);
const { tokenBody, jwksBody } = fixedToken(`http://127.0.0.1:${port}`);

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/oauth2/token') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const params = new URLSearchParams(body);
      if (params.get('grant_type') !== 'client_credentials') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"unsupported_grant_type"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(tokenBody);
    });
    return;
  }
  serveCommon(req, res, jwksBody);
});
listen(server, port);
