import { useEffect, useState } from 'preact/hooks';
import { admin, decodeJwtPart, type Client, type RecentSecrets } from '../api.js';
import { ErrorBox, Field } from '../components.js';

interface Exchange {
  /** The request as sent; credentials in it are masked on screen until revealed (see `sensitive`). */
  request: string;
  status: number;
  statusText: string;
  responseHeaders: [string, string][];
  /** The parsed JSON body (undefined if it was not JSON). */
  body: unknown;
}

/** The members of a token response this panel uses (RFC 6749 §5.1), if `body` is a successful one. */
function tokenAnswer(body: unknown): { access_token: string; token_type: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { access_token, token_type } = body as Record<string, unknown>;
  if (typeof access_token !== 'string' || !access_token) return undefined;
  return { access_token, token_type: typeof token_type === 'string' ? token_type : 'Bearer' };
}

/** The JWT claims this panel shows (RFC 9068 §2.2); anything else is displayed as-is. */
interface ShownClaims {
  aud?: unknown;
  iat?: unknown;
  exp?: unknown;
}

const claimsOf = (payload: unknown): ShownClaims => (typeof payload === 'object' && payload !== null ? payload : {});

/** A NumericDate claim as an ISO time, or a note that it is missing. */
const numericDate = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? new Date(v * 1000).toISOString() : '(none)');

const formEncode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');

function httpText(status: number, statusText: string, headers: [string, string][], body: string) {
  return `HTTP/1.1 ${status} ${statusText}\n${headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${body}`;
}

const SHOWN_HEADERS = ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'retry-after'];

export const MASK = '••••••••';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const JWT_SPIFFE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';
/** Methods whose credential is a JWT the caller pastes: a signed client assertion, or a platform token (federated). */
export const ASSERTION_METHODS: ReadonlySet<string> = new Set(['private_key_jwt', 'client_secret_jwt', 'federated_jwt']);

/** Replaces every occurrence of each sensitive value (longest first) with the mask. */
export function masked(text: string, sensitive: string[]): string {
  let out = text;
  for (const v of [...sensitive].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) out = out.split(v).join(MASK);
  return out;
}

/** POSIX shell single-quoting. */
const sq = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/**
 * The token request as a curl command. Unless revealed, the secret is the shell variable $CLIENT_SECRET
 * (so the copied command is still usable and the secret never lands on screen or in the clipboard).
 */
export function curlCommand(o: { tokenUrl: string; clientId: string; secret: string; method: string; scope: string; resource: string; reveal: boolean; assertionType?: string }): string {
  const secretArg = (prefix: string) => (o.reveal ? sq(prefix + o.secret) : `${sq(prefix)}"$CLIENT_SECRET"`);
  const lines = [`curl -sS ${sq(o.tokenUrl)}`, `-d grant_type=client_credentials`];
  if (ASSERTION_METHODS.has(o.method)) {
    // RFC 7521 §4.2 / RFC 7523 §2.2: the assertion is the credential; unless revealed it is the shell variable $CLIENT_ASSERTION.
    if (o.method !== 'federated_jwt') lines.push(`--data-urlencode ${sq('client_id=' + o.clientId)}`);
    lines.push(`--data-urlencode ${sq('client_assertion_type=' + (o.assertionType ?? JWT_BEARER))}`);
    lines.push(o.reveal ? `--data-urlencode ${sq('client_assertion=' + o.secret)}` : `--data-urlencode ${sq('client_assertion=')}"$CLIENT_ASSERTION"`);
  } else if (o.method === 'client_secret_post') {
    lines.push(`--data-urlencode ${sq('client_id=' + o.clientId)}`, `--data-urlencode ${secretArg('client_secret=')}`);
  } else if (formEncode(o.clientId) === o.clientId && (!o.reveal || formEncode(o.secret) === o.secret)) {
    lines.push(`-u ${secretArg(o.clientId + ':')}`);
  } else {
    // RFC 6749 §2.3.1 form-encodes id and secret before base64; curl -u would not.
    lines.push(`-H ${sq('Authorization: Basic ' + (o.reveal ? btoa(`${formEncode(o.clientId)}:${formEncode(o.secret)}`) : MASK))}`);
  }
  if (o.scope.trim()) lines.push(`--data-urlencode ${sq('scope=' + o.scope.trim())}`);
  if (o.resource.trim()) lines.push(`--data-urlencode ${sq('resource=' + o.resource.trim())}`);
  return lines.join(' \\\n  ');
}

/**
 * "Try it": the client credentials exchange of RFC 6749 §4.4, made by this browser tab against the
 * real token endpoint, shown step by step — request, response, decoded token, a call to a protected API.
 */
export function TryIt({ preselect, recentSecrets }: { preselect?: string | undefined; recentSecrets: RecentSecrets }) {
  const [clients, setClients] = useState<Client[]>([]);
  const [clientId, setClientId] = useState(preselect ?? '');
  const [secret, setSecret] = useState(preselect ? (recentSecrets.get(preselect) ?? '') : '');
  const [scope, setScope] = useState('');
  const [resource, setResource] = useState('');
  const [tokenStep, setTokenStep] = useState<Exchange | null>(null);
  const [apiStep, setApiStep] = useState<Exchange | null>(null);
  const [error, setError] = useState<unknown>(null);
  /** Secrets, Basic credentials and tokens are masked everywhere in this panel until the user reveals them. */
  const [reveal, setReveal] = useState(false);
  const [sensitive, setSensitive] = useState<string[]>([]);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    admin<{ clients: Client[] }>('GET', '/clients?limit=500').then((r) => setClients(r.clients), setError);
  }, []);
  const client = clients.find((c) => c.client_id === clientId);
  const method = client?.token_endpoint_auth_method;
  const assertion = method !== undefined && ASSERTION_METHODS.has(method);
  const supported = method === 'client_secret_basic' || method === 'client_secret_post' || assertion;
  const [assertionType, setAssertionType] = useState(JWT_BEARER);

  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setTokenStep(null);
    setApiStep(null);
    setReveal(false);
    setCopied(false);
    if (!client) return;
    const secrets = [secret, formEncode(secret), encodeURIComponent(secret)];
    const params: [string, string][] = [['grant_type', 'client_credentials']];
    if (scope.trim()) params.push(['scope', scope.trim()]);
    if (resource.trim()) params.push(['resource', resource.trim()]);
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (assertion) {
      // RFC 7523 §2.2; a federated client is found from the assertion itself, so its client_id is not needed.
      if (method !== 'federated_jwt') params.push(['client_id', client.client_id]);
      params.push(['client_assertion_type', assertionType], ['client_assertion', secret.trim()]);
      secrets.push(secret.trim(), formEncode(secret.trim()));
    } else if (method === 'client_secret_post') {
      params.push(['client_id', client.client_id], ['client_secret', secret]);
    } else {
      // RFC 6749 §2.3.1: form-url-encode id and secret, then Basic (base64 of "id:secret").
      headers.Authorization = 'Basic ' + btoa(`${formEncode(client.client_id)}:${formEncode(secret)}`);
      secrets.push(headers.Authorization.slice('Basic '.length));
    }
    setSensitive(secrets);
    const body = params.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
    const request = `POST /oauth2/token HTTP/1.1\nHost: ${location.host}\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n')}\n\n${body}`;
    try {
      const res = await fetch('/oauth2/token', { method: 'POST', headers, body, credentials: 'omit' });
      const json: unknown = await res.json().catch(() => undefined);
      const shown = [...res.headers].filter(([k]) => SHOWN_HEADERS.includes(k));
      setTokenStep({ request, status: res.status, statusText: res.statusText, responseHeaders: shown, body: json });
      const answer = res.ok ? tokenAnswer(json) : undefined;
      if (answer) {
        setSensitive([...secrets, answer.access_token]);
        const api = await fetch('/console/api/try/resource', { headers: { Authorization: `${answer.token_type === 'DPoP' ? 'DPoP' : 'Bearer'} ${answer.access_token}` }, credentials: 'same-origin' });
        const apiBody: unknown = await api.json().catch(() => undefined);
        setApiStep({
          request: `GET /console/api/try/resource HTTP/1.1\nHost: ${location.host}\nAuthorization: Bearer ${answer.access_token}`,
          status: api.status,
          statusText: api.statusText,
          responseHeaders: [...api.headers].filter(([k]) => SHOWN_HEADERS.includes(k)),
          body: apiBody,
        });
      }
    } catch (err) {
      setError(err);
    }
  };

  const token = tokenAnswer(tokenStep?.body)?.access_token;
  let decoded: { header: unknown; claims: unknown } | null = null;
  const parts = token?.split('.') ?? [];
  if (parts.length === 3) {
    try {
      decoded = { header: decodeJwtPart(parts[0]), claims: decodeJwtPart(parts[1]) };
    } catch {
      decoded = null;
    }
  }
  const show = (text: string) => (reveal ? text : masked(text, sensitive));
  const curl = client
    ? curlCommand({ tokenUrl: `${location.origin}/oauth2/token`, clientId: client.client_id, secret: assertion ? secret.trim() : secret, method: method ?? '', scope, resource, reveal, assertionType })
    : '';
  const claims = claimsOf(decoded?.claims);
  const tokenAud = Array.isArray(claims.aud) ? (claims.aud as unknown[])[0] : claims.aud;
  const aud = decoded ? (typeof tokenAud === 'string' ? tokenAud : undefined) : client?.audience[0];

  return (
    <section>
      <h2>Try it: the client credentials grant</h2>
      <form onSubmit={run} class="form">
        <Field label="Client">
          <select
            value={clientId}
            data-testid="try-client"
            onChange={(e) => {
              const id = e.currentTarget.value;
              setClientId(id);
              setSecret(recentSecrets.get(id) ?? '');
              setReveal(false);
            }}
          >
            <option value="">— choose a client —</option>
            {clients.map((c) => (
              <option key={c.client_id} value={c.client_id}>
                {c.client_name} ({c.client_id})
              </option>
            ))}
          </select>
        </Field>
        {assertion ? (
          <>
            <Field
              label="Client assertion"
              hint={
                method === 'federated_jwt'
                  ? 'the platform token, e.g. kubectl create token <service account> --audience <this issuer>; kept in this tab only'
                  : 'a signed JWT (RFC 7523 §3) with this issuer as aud; kept in this tab only'
              }
            >
              <input type="password" value={secret} data-testid="try-secret" autoComplete="off" onInput={(e) => setSecret(e.currentTarget.value)} />
            </Field>
            {method === 'federated_jwt' && (
              <Field label="Assertion type">
                <select value={assertionType} data-testid="try-assertion-type" onChange={(e) => setAssertionType(e.currentTarget.value)}>
                  <option value={JWT_BEARER}>jwt-bearer (Kubernetes, GitHub Actions, OIDC)</option>
                  <option value={JWT_SPIFFE}>jwt-spiffe (a SPIFFE JWT-SVID)</option>
                </select>
              </Field>
            )}
          </>
        ) : (
          <Field label="Client secret" hint="kept in this tab only; paste the secret you copied">
            <input type="password" value={secret} data-testid="try-secret" autoComplete="off" onInput={(e) => setSecret(e.currentTarget.value)} />
          </Field>
        )}
        <Field label="scope" hint={client ? `allowed: ${client.scope || 'none'}` : 'optional'}>
          <input value={scope} onInput={(e) => setScope(e.currentTarget.value)} />
        </Field>
        <Field label="resource" hint={client?.audience.length ? `allowed: ${client.audience.join(', ')}` : 'optional (RFC 8707)'}>
          <input value={resource} onInput={(e) => setResource(e.currentTarget.value)} />
        </Field>
        {client && !supported && <p class="error">The try-it panel cannot present a client certificate from the browser; this client uses {method} (try it with curl --cert).</p>}
        <div class="actions">
          <button type="submit" disabled={!client || !supported || !secret} data-testid="try-run">
            Request a token
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {tokenStep && (
        <ol class="steps" data-testid="try-steps">
          <li>
            <div class="titlebar">
              <h3>1. The token request</h3>
              <button class="secondary" data-testid="try-reveal" aria-pressed={reveal} onClick={() => {
                  setReveal(!reveal);
                  setCopied(false);
                }}>
                {reveal ? 'Hide secrets' : 'Reveal secrets'}
              </button>
            </div>
            {!reveal && (
              <p class="muted">
                {assertion ? 'The client assertion' : 'The client secret, the Basic credentials'} and the access token are masked ({MASK}); reveal them only where nobody can read your screen.
              </p>
            )}
            <pre data-testid="try-request">{show(tokenStep.request)}</pre>
            <p class="muted">
              {reveal ? 'The same request with curl:' : `The same request with curl (set ${assertion ? 'CLIENT_ASSERTION' : 'CLIENT_SECRET'} in your shell first, e.g. ${assertion ? 'CLIENT_ASSERTION=$(cat token-file); export CLIENT_ASSERTION' : 'read -rs CLIENT_SECRET; export CLIENT_SECRET'}):`}
            </p>
            <div class="copyable">
              <pre data-testid="try-curl">{curl}</pre>
              <button
                class="secondary"
                data-testid="copy-curl"
                onClick={() =>
                  navigator.clipboard.writeText(curl).then(
                    () => setCopied(true),
                    () => setCopied(false),
                  )
                }
              >
                {copied ? 'Copied' : 'Copy'}
              </button>
            </div>
          </li>
          <li>
            <h3>2. The response</h3>
            <pre data-testid="try-response">{show(httpText(tokenStep.status, tokenStep.statusText, tokenStep.responseHeaders, JSON.stringify(tokenStep.body, null, 2)))}</pre>
          </li>
          {token && (
            <li>
              <h3>3. The access token</h3>
              {decoded ? (
                <div class="diff">
                  <div>
                    <h4>Header</h4>
                    <pre data-testid="try-header">{JSON.stringify(decoded.header, null, 2)}</pre>
                  </div>
                  <div>
                    <h4>Claims</h4>
                    <pre data-testid="try-claims">{JSON.stringify(decoded.claims, null, 2)}</pre>
                    <p class="muted">
                      issued {numericDate(claims.iat)}, expires {numericDate(claims.exp)}
                    </p>
                  </div>
                </div>
              ) : (
                <p>An opaque reference token: it carries no claims; resource servers check it by introspection (RFC 7662).</p>
              )}
            </li>
          )}
          {apiStep && (
            <li>
              <h3>4. Calling a protected API with it</h3>
              <p class="muted">A demo resource on this server that checks the token like a resource server would (signature against the JWKS, typ, iss, exp, revocation).</p>
              <pre data-testid="try-api-request">{show(apiStep.request)}</pre>
              <pre data-testid="try-api-response">{httpText(apiStep.status, apiStep.statusText, apiStep.responseHeaders, JSON.stringify(apiStep.body, null, 2))}</pre>
              {aud && (
                <>
                  <p class="muted">Your own API ({aud}) gets the same header:</p>
                  <pre>{`curl -H "Authorization: Bearer $ACCESS_TOKEN" ${aud}`}</pre>
                </>
              )}
            </li>
          )}
        </ol>
      )}
    </section>
  );
}
