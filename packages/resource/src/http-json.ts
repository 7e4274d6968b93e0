/** Minimal JSON-over-HTTP helper shared by discovery, JWKS and introspection: timeout, size cap, no redirects to other origins. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface FetchJsonOptions {
  fetch: FetchLike;
  timeoutMs: number;
  maxBytes: number;
  init?: RequestInit;
}

export class HttpJsonError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** Fetches `url` and parses a JSON body of at most `maxBytes`. Rejects with {@link HttpJsonError} on anything else. */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await options.fetch(url, {
      ...options.init,
      headers: { accept: 'application/json', ...(options.init?.headers as Record<string, string> | undefined) },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    throw new HttpJsonError(`request to ${url} failed: ${(err as Error)?.name ?? 'Error'}`);
  }
  const text = await readLimited(response, options.maxBytes).catch((err: unknown) => {
    throw new HttpJsonError(`reading ${url} failed: ${(err as Error)?.message ?? 'error'}`, response.status);
  });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpJsonError(`${url} did not return JSON (HTTP ${response.status})`, response.status);
  }
  return { status: response.status, body };
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`body larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader(); // Fetch: a body is a stream of bytes (undici types it <any>)
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`body larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
