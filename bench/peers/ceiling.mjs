// Peer (a): the ceiling. A bare node:http server that does the least a token
// endpoint must do — read a small form POST, parse it, answer a small JSON —
// and nothing else. Its "token" is one JWT signed at start-up, so the harness
// can verify it like every other peer's.
//
// With BENCH_CEILING_SIGN=1 (scenario `ceiling-es256`) it signs a fresh ES256 JWT per request with
// node:crypto's one-shot sign (unique jti, current iat/exp): the floor of any Node token endpoint that
// signs per request — HTTP plus the signature, no client authentication, no store, no metrics.
import http from 'node:http';
import { fixedToken, freshSigner, listen, serveCommon } from './common.mjs';

const port = Number(process.env.BENCH_PORT ?? 0);
const issuer = `http://127.0.0.1:${port}`;
const fixed = fixedToken(issuer);
const signer = process.env.BENCH_CEILING_SIGN === '1' ? freshSigner(issuer) : undefined;
const jwksBody = signer ? signer.jwksBody : fixed.jwksBody;

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
      res.end(signer ? signer.tokenBody() : fixed.tokenBody);
    });
    return;
  }
  serveCommon(req, res, jwksBody);
});
listen(server, port);
