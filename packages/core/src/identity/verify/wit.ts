/**
 * The Workload Identity Token (creds §5.1) as a receiver checks it, in the order of the research
 * note §3: header (`typ`, `alg`, `crit`), `sub` and its trust domain, the issuer's key by `kid`, the
 * signature, `exp`, then `cnf.jwk`. A verified WIT is cached in a bounded LRU (compared in full), and
 * a cached one is used only while a fresh check would pass too (not past `exp`, signing key still served).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { IdentityError, MeshguardError } from '../../errors.js'
import { deepFreeze } from '../../internal/deep-freeze.js'
import { andThen, type MaybePromise } from '../../internal/maybe-async.js'
import { bareRecord } from '../../internal/own.js'
import { ASYMMETRIC_ALGORITHMS, JWS_ALGORITHMS_BY_NAME } from '../jws-algorithms.js'
import { Lru } from '../lru.js'
import { normalizeTyp } from '../wire.js'
import { parseWorkloadIdentifier, WIT_ATTRIBUTES_CLAIM, WIT_TYP, type WorkloadIdentifier } from '../wimse-wire.js'
import type { ResolvedWorkloadIssuer, TrustBundle } from '../trust/trust-bundle.js'
import type { KeyStore } from '../trust/types.js'
import { parseCompactToken } from './compact.js'
import { tokenKey } from './token-memo.js'
import { checkSignature, findKey, stillTrusted, type UsedKey } from './verify-token.js'

/** A verified WIT: who it names, the proof key it binds, and what a cached answer re-checks. */
export interface VerifiedWit {
  /** The WIT as received (a cache hit compares it in full). */
  readonly wit: string
  /** base64url(SHA-256(WIT)): the `wth` every WPT must carry. */
  readonly digest: string
  readonly id: WorkloadIdentifier
  readonly issuer: ResolvedWorkloadIssuer
  /** Every verified claim, frozen. */
  readonly claims: Readonly<Record<string, unknown>>
  /** `exp`, seconds. */
  readonly exp: number
  /** The workload's public key (`cnf.jwk`), imported once. */
  readonly proofKey: KeyObject
  /** `cnf.jwk.alg`: the only algorithm a WPT of this WIT may use. */
  readonly proofAlg: string
  /** The issuer key that signed the WIT: a hit needs it still served by the issuer's key set. */
  readonly signedWith: UsedKey
  /** Roles and attributes the issuer asserted, when it is an attribute authority (else empty). */
  readonly asserted: { readonly roles: readonly string[]; readonly attr: Readonly<Record<string, unknown>> | undefined }
}

/** Limits of one WIT check. */
export interface WitLimits {
  readonly maxTokenBytes: number
  /** Clock skew, seconds. */
  readonly skew: number
  /** Seconds clock. */
  readonly now: number
  readonly offload: boolean
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const
const NO_ROLES: readonly string[] = Object.freeze([])
const NOTHING_ASSERTED = Object.freeze({ roles: NO_ROLES, attr: undefined })

const invalid = (message: string, cause?: unknown): IdentityError => new IdentityError('wit_invalid', message, { tokenKind: 'workload', cause })

/** Turns a generic token failure into `wit_invalid` (a JWKS outage, `UnavailableError`, passes unchanged). */
function asWitFailure(err: unknown): unknown {
  if (err instanceof IdentityError && !err.reason.startsWith('wit_')) return invalid(`WIT rejected: ${err.message}`, err)
  if (err instanceof MeshguardError && err.tokenKind === undefined) err.tokenKind = 'workload'
  return err
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The proof key of `cnf.jwk` (RFC 7800 §3.2): a public JWK whose `alg` the issuer allows for proofs
 * and whose `kty`/`crv` fit that algorithm.
 */
function proofKeyOf(cnf: unknown, allowed: ReadonlySet<string>): { key: KeyObject; alg: string } {
  const jwk = isObject(cnf) ? cnf['jwk'] : undefined
  if (!isObject(jwk)) throw invalid('WIT has no "cnf.jwk"')
  const alg = jwk['alg']
  if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg) || !allowed.has(alg)) throw invalid('WIT "cnf.jwk.alg" is absent or not an allowed proof algorithm')
  const spec = JWS_ALGORITHMS_BY_NAME.get(alg)
  if (spec === undefined || jwk['kty'] !== spec.jwkKeyType || (spec.jwkCurve !== undefined && jwk['crv'] !== spec.jwkCurve)) {
    throw invalid('WIT "cnf.jwk" key type does not fit its "alg"')
  }
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) throw invalid('WIT "cnf.jwk" holds private key material')
  const material = bareRecord()
  for (const name of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (typeof jwk[name] === 'string') material[name] = jwk[name]
  let key: KeyObject
  try {
    key = createPublicKey({ key: { ...material } as JsonWebKey, format: 'jwk' })
  } catch (err) {
    throw invalid('WIT "cnf.jwk" is not a usable public key', err)
  }
  if (spec.minRsaBits !== undefined && (key.asymmetricKeyDetails?.modulusLength ?? 0) < spec.minRsaBits) throw invalid('WIT "cnf.jwk" RSA key is too short')
  return { key, alg }
}

/** What an attribute-authority issuer asserts under `https://meshguard.dev/wit`; nothing from any other issuer. */
function assertedBy(issuer: ResolvedWorkloadIssuer, claims: Readonly<Record<string, unknown>>): VerifiedWit['asserted'] {
  if (!issuer.attributeAuthority || !Object.hasOwn(claims, WIT_ATTRIBUTES_CLAIM)) return NOTHING_ASSERTED
  const value = claims[WIT_ATTRIBUTES_CLAIM]
  if (!isObject(value)) throw invalid(`WIT "${WIT_ATTRIBUTES_CLAIM}" is not an object`)
  const roles = value['roles']
  if (roles !== undefined && (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' || r === ''))) {
    throw invalid(`WIT "${WIT_ATTRIBUTES_CLAIM}".roles is not a list of role names`)
  }
  const attr = value['attr']
  if (attr !== undefined && !isObject(attr)) throw invalid(`WIT "${WIT_ATTRIBUTES_CLAIM}".attr is not an object`)
  let copy: Record<string, unknown> | undefined
  if (attr !== undefined) {
    copy = bareRecord()
    for (const name of Object.keys(attr)) copy[name] = attr[name]
  }
  return deepFreeze({ roles: roles === undefined ? NO_ROLES : [...new Set(roles as string[])], attr: copy })
}

/**
 * Verifies a WIT from scratch.
 *
 * @param digest - base64url(SHA-256(wit)), computed once by the caller
 * @throws IdentityError `wit_invalid`, `wit_untrusted_domain`, `wit_expired`; UnavailableError `jwks_unavailable`
 */
export function verifyWit(wit: string, digest: string, bundle: TrustBundle, limits: WitLimits): MaybePromise<VerifiedWit> {
  try {
    const { header, payload } = parseCompactToken(wit, limits.maxTokenBytes)
    const { typ, alg, kid } = header
    if (typeof typ !== 'string' || normalizeTyp(typ) !== WIT_TYP) throw invalid('WIT "typ" is not wit+jwt')
    if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) throw invalid('WIT "alg" is not an allowed asymmetric algorithm')
    if (header['crit'] !== undefined) throw invalid('WIT has critical header parameters')
    const id = parseWorkloadIdentifier(payload['sub'])
    const issuer = bundle.workloadIssuer(id.trustDomain)
    if (issuer === undefined) {
      throw new IdentityError('wit_untrusted_domain', 'no workload issuer is configured for the WIT trust domain', { tokenKind: 'workload' })
    }
    if (!issuer.algorithms.has(alg)) throw invalid('WIT "alg" is not allowed for its trust domain')
    if (issuer.issuer !== undefined && payload['iss'] !== issuer.issuer) throw invalid('WIT "iss" is not the configured issuer of its trust domain')
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) throw invalid('WIT header has no usable "kid"')
    const store: KeyStore = issuer.keys
    const checked = andThen(findKey([store], kid), ({ entry }) =>
      andThen(checkSignature(wit, entry, alg, issuer.algorithms, { remember: false, offload: limits.offload }), () =>
        afterSignature(wit, digest, payload, id, issuer, { store, kid, entry }, limits),
      ),
    )
    if (!(checked instanceof Promise)) return checked
    return checked.then(undefined, (err: unknown) => {
      throw asWitFailure(err)
    })
  } catch (err) {
    throw asWitFailure(err)
  }
}

function afterSignature(
  wit: string,
  digest: string,
  payload: Readonly<Record<string, unknown>>,
  id: WorkloadIdentifier,
  issuer: ResolvedWorkloadIssuer,
  signedWith: UsedKey,
  limits: WitLimits,
): VerifiedWit {
  const { exp, nbf } = payload
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('WIT has no numeric "exp"')
  if (exp <= limits.now - limits.skew) throw new IdentityError('wit_expired', 'the WIT has expired', { tokenKind: 'workload' })
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > limits.now + limits.skew)) throw invalid('WIT "nbf" is invalid or in the future')
  const { key, alg } = proofKeyOf(payload['cnf'], issuer.proofAlgorithms)
  const claims = deepFreeze({ ...payload })
  return Object.freeze({ wit, digest, id: Object.freeze({ id: id.id, trustDomain: id.trustDomain }), issuer, claims, exp, proofKey: key, proofAlg: alg, signedWith, asserted: assertedBy(issuer, claims) })
}

/**
 * Verified WITs, keyed by a hash of their end ({@link tokenKey}: no hashing of the whole WIT per
 * request, its digest comes with the entry). A hit answers exactly what a fresh check would: the
 * same WIT (compared in full), not expired at this second (with the same skew), and signed by a key
 * its issuer's key set still serves (a key removed from the JWKS, a rotated file, ends every entry
 * it signed). Only successes are kept, so a refused WIT is checked again each time.
 */
export class WitCache {
  private readonly entries: Lru<number, VerifiedWit>
  hits = 0
  misses = 0

  constructor(maxEntries: number) {
    this.entries = new Lru(maxEntries)
  }

  get size(): number {
    return this.entries.size
  }

  /** The cached verification of `wit`, when a fresh check at `now` (seconds) would accept it too. */
  get(wit: string, now: number, skew: number): VerifiedWit | undefined {
    const key = tokenKey(wit)
    const entry = this.entries.get(key)
    if (entry === undefined || entry.wit !== wit) {
      this.misses++
      return undefined
    }
    if (entry.exp <= now - skew || !stillTrusted(entry.signedWith)) {
      this.entries.delete(key)
      this.misses++
      return undefined
    }
    this.hits++
    return entry
  }

  set(verified: VerifiedWit): void {
    this.entries.set(tokenKey(verified.wit), verified)
  }
}
