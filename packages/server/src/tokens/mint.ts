import { createHash } from 'node:crypto';
import type { Keyring } from '../keys/keyring.js';
import type { Store } from '../store/store.js';
import type { CachedClient } from '../store/client-cache.js';
import type { OpaqueTokenRecord } from '../store/types.js';
import { randomId } from './ids.js';
import { OPAQUE_TOKEN_PREFIX } from '../shared/token-prefixes.js';
import { OpaqueWriter } from './opaque.js';
import type { OpaqueTokenCache } from './opaque-cache.js';

export interface Grant {
  client: CachedClient;
  scope: string;
  aud: string[];
  cnf?: Record<string, string> | undefined;
  tokenType: 'Bearer' | 'DPoP';
}

export interface Minted {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
}

export const opaqueTokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');

/** Issues access tokens: RFC 9068 JWTs (default) or opaque reference tokens (RFC 7662). */
export class Minter {
  readonly opaque: OpaqueWriter;

  constructor(
    private readonly issuer: string,
    private readonly keyring: Keyring,
    store: Store,
    private readonly defaultTtl: number,
    /** Opaque tokens issued here are remembered for introspection on this node (tokens/opaque-cache.ts). */
    private readonly opaqueCache?: Pick<OpaqueTokenCache, 'remember'>,
  ) {
    this.opaque = new OpaqueWriter(store);
  }

  ttlOf(client: CachedClient): number {
    return client.record.access_token_ttl ?? this.defaultTtl;
  }

  async mint(g: Grant): Promise<Minted> {
    const ttl = this.ttlOf(g.client);
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + ttl;
    const jti = randomId();
    const clientId = g.client.record.client_id;
    if (g.client.record.access_token_format === 'opaque') {
      const token = OPAQUE_TOKEN_PREFIX + randomId(32);
      const rec: OpaqueTokenRecord = {
        token_hash: opaqueTokenHash(token),
        jti,
        client_id: clientId,
        scope: g.scope,
        aud: g.aud,
        iat,
        exp,
        cnf: g.cnf ?? null,
        token_type: g.tokenType,
      };
      // Acknowledged only once durable: the writer batches concurrent inserts into one statement.
      await this.opaque.write(rec);
      this.opaqueCache?.remember(rec);
      return { access_token: token, token_type: g.tokenType, expires_in: ttl, scope: g.scope };
    }
    // RFC 9068 §2.2 claims. aud is a string when there is one audience.
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      sub: clientId,
      aud: g.aud.length === 1 ? g.aud[0] : g.aud,
      exp,
      iat,
      jti,
      client_id: clientId,
      scope: g.scope,
    };
    if (g.cnf) payload.cnf = g.cnf;
    const access_token = this.keyring.signer().sign(JSON.stringify(payload));
    return { access_token, token_type: g.tokenType, expires_in: ttl, scope: g.scope };
  }
}
