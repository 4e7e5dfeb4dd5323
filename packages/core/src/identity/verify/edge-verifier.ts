/**
 * The edge: where a user's (or agent's) access token arrives from outside the mesh, as
 * `Authorization: Bearer <token>` or, sender-constrained, `Authorization: DPoP <token>` with a
 * `DPoP` proof. The token is verified against the trusted actor issuers; a token bound to a key
 * (`cnf.jkt`) is never accepted without a valid proof for this request. What comes out is the actor
 * and the token to forward inward (`callerContext.runWithActor`).
 */
import { ConfigError, IdentityError, IdentityMissingError, MeshguardError } from '../../errors.js'
import { isPromise, type MaybePromise } from '../../internal/maybe-async.js'
import { ActorSides } from './actor-side.js'
import { sha256Base64url } from '../digest.js'
import { checkDpopProof, issueNonce, resolveDpop, type DpopOptions, type DpopSettings } from './dpop.js'
import { singleHeader, type HeaderView } from '../headers.js'
import { Introspection, type IntrospectionOptions } from './introspection.js'
import { defaultActorMapping } from './principal.js'
import { RevocationGuard, type RevocationOptions } from './revocation.js'
import { aboutToken } from './token-kind.js'
import type { VerifiedActor } from '../caller.js'
import { TrustBundle } from '../trust/trust-bundle.js'
import type { TrustBundleOptions } from '../trust/types.js'
import type { ClaimMappingOptions } from './types.js'
import { verifyActorToken, type VerifiedActorToken } from './verify-token.js'

/** Options of {@link createEdgeVerifier}. */
export interface EdgeVerifierOptions {
  /** The trust bundle (or its options); its `actors` are the issuers whose access tokens are accepted. */
  trust: TrustBundle | TrustBundleOptions
  /** Clock skew tolerated on the token and the proof, at most 60. @defaultValue 30 */
  clockTolerance?: number | undefined
  /** Maximum size of the token and of the proof. @defaultValue 8192 */
  maxTokenBytes?: number | undefined
  /** Maximum depth of the token's `act` chain. @defaultValue 5 */
  maxActDepth?: number | undefined
  /** Claim → role/attribute mapping of the actor (`actorRolesClaim`, `actorTypeClaim`, `mapActor`). */
  claims?: ClaimMappingOptions | undefined
  /**
   * Sender-constrained tokens (RFC 9449). A token with `cnf.jkt` always needs a valid proof, whatever
   * these options say; they tune the proof checks and can refuse unbound tokens altogether.
   */
  dpop?: DpopOptions | undefined
  /** Revocation of access tokens (list and/or hook), as on the verifier. */
  revocation?: RevocationOptions | undefined
  /** Opaque access tokens (not a compact JWS) are introspected (RFC 7662) at this issuer's endpoint. @defaultValue off: opaque tokens are `token_malformed` */
  introspection?: IntrospectionOptions | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** One request as the edge received it. */
export interface EdgeRequest {
  /** The HTTP method (`GET`, `POST`, …). */
  method: string
  /** The absolute URL the client addressed (scheme and host as the client saw them, behind any proxy). */
  url: string
  /** Lower-case names, every value received. */
  headers: HeaderView
}

/** A verified edge request. */
export interface EdgeVerifiedUser {
  /** The actor the token stands for. */
  readonly actor: VerifiedActor
  /** The access token, to forward inward unchanged (never log it). */
  readonly token: string
  /** sha256 (base64url) of the token, for audit. */
  readonly tokenDigest: string
  /** The thumbprint of the key the token is bound to, when it is DPoP-bound. */
  readonly boundKey: string | undefined
  /** When the token expires (epoch ms). */
  readonly expiresAt: number
}

/** Verifies access tokens at the edge. */
export interface EdgeVerifier {
  /**
   * Verifies one request's access token (and DPoP proof).
   * @throws IdentityMissingError `token_missing`; IdentityError (`dpop_required`, `dpop_proof_invalid`, `token_expired`, …);
   *   UnavailableError (`jwks_unavailable`, `revocation_unavailable`, …)
   */
  verify(request: EdgeRequest): Promise<EdgeVerifiedUser>
  /**
   * The headers of a 401 for this failure: `WWW-Authenticate` (RFC 6750 / RFC 9449 §7.1) and, with
   * server nonces, a fresh `DPoP-Nonce`.
   *
   * @param realm - the `realm` auth-param of each challenge (e.g. the service name) @defaultValue none
   * @param refusal - for a refusal of a DPoP-bound token that its holder can fix (403
   *   `insufficient_scope`, a 401 step-up): its auth-params (`error="insufficient_scope"`, `scope=…`),
   *   which then make the challenge, in the DPoP scheme with `algs`
   */
  challenge(err: unknown, realm?: string, refusal?: readonly string[]): Record<string, string>
  /** A fresh server nonce to send as `DPoP-Nonce` (only with `dpop.nonce`). */
  nonce(): string | undefined
  readonly trust: TrustBundle
}

/** An HTTP auth-param value (RFC 9110 quoted-string). */
const quoted = (value: string): string => `"${value.replace(/[\\"]/g, '\\$&')}"`

const SCHEME = /^(bearer|dpop) +([A-Za-z0-9._~+/-]+=*)$/i
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The `cnf.jkt` a token is bound to, undefined when it is not bound; other `cnf` methods are refused. */
function boundThumbprint(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims['cnf']
  if (cnf === undefined) return undefined
  const jkt = typeof cnf === 'object' && cnf !== null && Object.hasOwn(cnf, 'jkt') ? (cnf as { jkt: unknown }).jkt : undefined
  // A token bound some other way (mTLS `x5t#S256`) cannot be proven here: refuse, never downgrade it.
  if (typeof jkt !== 'string' || jkt.length === 0) throw new IdentityError('cnf_unsupported', 'the token is bound to a key by a method this service cannot check')
  return jkt
}

/**
 * Creates the edge verifier. Options are validated once; mistakes throw `ConfigError` naming the
 * option (`edge.dpop.nonce.secret`, …).
 */
export function createEdgeVerifier(options: EdgeVerifierOptions): EdgeVerifier {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('edge', 'must be an object')
  const trust = options.trust instanceof TrustBundle ? options.trust : new TrustBundle(options.trust)
  const tolerance = options.clockTolerance ?? 30
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 60) throw new ConfigError('edge.clockTolerance', 'must be between 0 and 60 seconds')
  const maxTokenBytes = options.maxTokenBytes ?? 8192
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 256) throw new ConfigError('edge.maxTokenBytes', 'must be an integer ≥ 256')
  const maxActDepth = options.maxActDepth ?? 5
  if (!Number.isInteger(maxActDepth) || maxActDepth < 0) throw new ConfigError('edge.maxActDepth', 'must be an integer ≥ 0')
  const clock = options.clock ?? Date.now
  const claims = options.claims ?? {}
  const dpop: DpopSettings = resolveDpop(options.dpop, 'edge.dpop')
  const revocation = options.revocation === undefined ? undefined : new RevocationGuard(options.revocation, { clock, emit: (e) => trust.report(e) })
  const introspection =
    options.introspection === undefined ? undefined : new Introspection(options.introspection, trust, tolerance, { clock, emit: (e) => trust.report(e) })
  const actors = new ActorSides({ mapActor: claims.mapActor ?? defaultActorMapping(claims), mapsActorPurely: claims.mapActor === undefined, maxActDepth })

  function afterToken(verified: Pick<VerifiedActorToken, 'claims' | 'issuer' | 'exp'>, token: string, scheme: string, proof: string | undefined, request: EdgeRequest, nowMs: number): MaybePromise<EdgeVerifiedUser> {
    const jkt = boundThumbprint(verified.claims)
    if (jkt === undefined) {
      if (scheme === 'dpop') throw new IdentityError('dpop_key_mismatch', 'a DPoP request needs a token bound to the proof key (cnf.jkt)')
      if (dpop.required) throw new IdentityError('dpop_required', 'this service accepts DPoP-bound tokens only')
    } else {
      if (scheme !== 'dpop' || proof === undefined) throw new IdentityError('dpop_required', 'the token is bound to a key: a DPoP proof is required')
    }
    const proven =
      jkt === undefined || proof === undefined
        ? undefined
        : checkDpopProof(proof, { method: request.method.toUpperCase(), url: request.url, accessToken: token, jkt, tolerance, nowMs, maxBytes: maxTokenBytes }, dpop)
    const finish = (): MaybePromise<EdgeVerifiedUser> => {
      const unrevoked = revocation?.check('actor', verified.claims)
      const caller = (): EdgeVerifiedUser =>
        Object.freeze({ actor: actors.of(verified).actor, token, tokenDigest: sha256Base64url(token), boundKey: jkt, expiresAt: verified.exp * 1000 })
      return isPromise(unrevoked) ? unrevoked.then(caller) : caller()
    }
    return isPromise(proven) ? proven.then(finish) : finish()
  }

  async function verify(request: EdgeRequest): Promise<EdgeVerifiedUser> {
    try {
      if (typeof request !== 'object' || (request as unknown) === null || typeof request.method !== 'string' || typeof request.url !== 'string') {
        throw new ConfigError('edge.verify', 'needs { method, url, headers }')
      }
      const { headers } = request
      const authorization = singleHeader(headers, 'authorization', 'actor', maxTokenBytes + 64)?.trim()
      if (authorization === undefined || authorization === '') throw new IdentityMissingError('an access token is required')
      const match = SCHEME.exec(authorization)
      if (match === null) throw new IdentityError('auth_scheme_invalid', 'authorization is not "Bearer <token>" or "DPoP <token>"')
      const scheme = (match[1] as string).toLowerCase()
      const token = match[2] as string
      const proof = singleHeader(headers, 'dpop', 'actor', maxTokenBytes)?.trim() || undefined
      const nowMs = clock()
      if (token.length > maxTokenBytes) throw new IdentityError('token_too_large', `token exceeds ${maxTokenBytes} bytes`)
      // A token that is not a compact JWS is opaque: only the authorization server can say what it is.
      const verified =
        introspection !== undefined && !COMPACT_JWS.test(token)
          ? await introspection.introspect(token)
          : await verifyActorToken(token, trust, { maxTokenBytes, tolerance, now: Math.floor(nowMs / 1000), offload: false })
      return await afterToken(verified, token, scheme, proof, request, nowMs)
    } catch (err) {
      throw aboutToken(err, 'actor')
    }
  }

  function nonce(): string | undefined {
    return dpop.nonceSecret === undefined ? undefined : issueNonce(dpop.nonceSecret, clock())
  }

  function challenge(err: unknown, realm?: string, refusal?: readonly string[]): Record<string, string> {
    const reason = err instanceof MeshguardError ? err.reason : undefined
    const algs = `algs="${[...dpop.algorithms].join(' ')}"`
    const fresh = nonce()
    const headers: Record<string, string> = fresh === undefined ? {} : { 'dpop-nonce': fresh }
    const scheme = (name: string, ...params: string[]): string => {
      const all = [...(realm === undefined ? [] : [`realm=${quoted(realm)}`]), ...params]
      return all.length === 0 ? name : `${name} ${all.join(', ')}`
    }
    if (refusal !== undefined) headers['www-authenticate'] = scheme('DPoP', ...refusal, algs)
    else if (reason === 'dpop_nonce_required') headers['www-authenticate'] = scheme('DPoP', 'error="use_dpop_nonce"', algs)
    else if (reason === 'dpop_proof_invalid' || reason === 'dpop_proof_replayed' || reason === 'dpop_key_mismatch') {
      headers['www-authenticate'] = scheme('DPoP', 'error="invalid_dpop_proof"', algs)
    } else {
      // RFC 6750 §3.1: no error code when no credentials came.
      const error = reason === 'token_missing' ? [] : ['error="invalid_token"']
      const dpopChallenge = scheme('DPoP', ...error, algs)
      headers['www-authenticate'] = dpop.required ? dpopChallenge : `${scheme('Bearer', ...error)}, ${dpopChallenge}`
    }
    return headers
  }

  return { verify, challenge, nonce, trust }
}
