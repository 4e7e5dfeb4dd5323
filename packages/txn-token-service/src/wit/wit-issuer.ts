/** Assembles the WIT issuer of a Txn-Token Service from its options (one deployable, separate keys). */
import { ConfigError, type DecisionEngine, type JsonWebKeySet } from '@meshguard/core'
import { WIT_ATTESTATION_TYPES, WIT_ISSUANCE_PATH, WIT_JWKS_PATH, type WitAttestationType, type WitIssuanceResponse } from '@meshguard/core/wimse'
import type { TokenExchangeError } from '../errors.js'
import type { AuditTarget } from '../exchange-audit.js'
import { bounded } from '../option-checks.js'
import type { TxnTokenSigningKeyInput } from '../options.js'
import { SigningKeyRing } from '../signing-keys.js'
import type { ServiceState } from '../state/shared-state.js'
import type { AttestationVerifier } from './attestation.js'
import { KubernetesAttestations } from './kubernetes.js'
import { ProofVerifier } from './proof.js'
import { WitAudit } from './wit-audit.js'
import { WitIssuance } from './wit-issuance.js'
import type { WitIssuerOptions } from './wit-options.js'
import { JwtSvidAttestations, RegisteredKeyAttestations } from './workload-keys.js'

/** The WIT issuer of a running service. */
export interface WitIssuer {
  /** `<issuer>/wit`: where workloads POST issuance requests. */
  readonly endpoint: string
  /** `<issuer>/.well-known/wit-jwks.json`: the WIT signing keys (never the Txn-Token keys). */
  readonly jwksUri: string
  /** The trust domain of every WIT `sub`. */
  readonly trustDomain: string
  /**
   * One issuance from a parsed request body `{ attestation_type, attestation, proof, roles? }`.
   * @throws TokenExchangeError with a stable `reason` and the HTTP status of the refusal
   */
  issue(request: unknown): Promise<WitIssuanceResponse>
  /** The keys receivers verify WITs with: the signing key, keys about to sign, keys of WITs still valid. */
  jwks(): JsonWebKeySet
  /**
   * Publishes a new WIT signing key now and signs with it once the activation delay has passed; the
   * old key stays published until every WIT it signed has expired.
   */
  rotateKey(key: TxnTokenSigningKeyInput): void
}

/** What the service shares with its WIT issuer. */
export interface WitIssuerContext {
  readonly issuer: string
  readonly trustDomain: string
  readonly engine: DecisionEngine
  readonly clockTolerance: number
  readonly keyActivationDelay: number
  readonly maxTokenBytes: number
  readonly audit: AuditTarget
  /** Where used proof and attestation `jti`s are recorded (the service's stores). */
  readonly state: ServiceState
  readonly clock: () => number
}

/** The issuer and the hooks the HTTP handler needs. */
export interface WitIssuerParts {
  readonly issuer: WitIssuer
  /** Seconds the WIT JWKS may be cached: half the activation delay, so a new key reaches callees before it signs. */
  readonly jwksMaxAge: number
  readonly refusedEarly: (error: TokenExchangeError) => void
}

function names(list: string[] | undefined, option: string): string[] {
  if (list === undefined) return []
  if (!Array.isArray(list) || list.some((n) => typeof n !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(n))) throw new ConfigError(option, 'must be a list of names')
  return [...new Set(list)]
}

function listOf<T>(value: T[] | undefined, option: string): T[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new ConfigError(option, 'must be a list')
  return value
}

/**
 * Creates the WIT issuer; options are checked once and mistakes throw `ConfigError` naming the option.
 */
export function createWitIssuer(options: WitIssuerOptions, context: WitIssuerContext): WitIssuerParts {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('wit', 'must be an object')
  const { issuer, clock, clockTolerance, maxTokenBytes, state } = context
  const trustDomain = options.trustDomain ?? context.trustDomain
  if (typeof trustDomain !== 'string' || !/^[a-z0-9._-]+$/.test(trustDomain)) throw new ConfigError('wit.trustDomain', 'must be a SPIFFE trust domain name')
  const lifetime = bounded(options.lifetime, 3600, 60, 86_400, 'wit.lifetime')
  const activationDelay = bounded(options.keyActivationDelay, context.keyActivationDelay, 0, 86_400, 'wit.keyActivationDelay')
  const maxProofAge = bounded(options.maxProofAge, 60, 5, 600, 'wit.maxProofAge')
  const keys = new SigningKeyRing(options.signingKeys, {
    clock,
    retainMs: (lifetime + clockTolerance) * 1000,
    activationDelayMs: activationDelay * 1000,
    algorithms: ['ES256', 'EdDSA'],
    option: 'wit.signingKeys',
  })
  const shared = { issuerUrl: issuer, trustDomain, clockTolerance, maxTokenBytes, clock }
  const verifiers = new Map<WitAttestationType, AttestationVerifier>()
  const kubernetes = listOf(options.kubernetes, 'wit.kubernetes')
  if (kubernetes.length > 0) verifiers.set(WIT_ATTESTATION_TYPES.kubernetes, new KubernetesAttestations(kubernetes, shared))
  const registered = listOf(options.registeredKeys, 'wit.registeredKeys')
  if (registered.length > 0) verifiers.set(WIT_ATTESTATION_TYPES.privateKeyJwt, new RegisteredKeyAttestations(registered, shared, state))
  const spiffe = listOf(options.spiffe, 'wit.spiffe')
  if (spiffe.length > 0) verifiers.set(WIT_ATTESTATION_TYPES.jwtSvid, new JwtSvidAttestations(spiffe, shared))
  if (verifiers.size === 0) throw new ConfigError('wit', 'needs at least one attestation source (kubernetes, registeredKeys or spiffe)')

  const { engine } = context
  const issuance = new WitIssuance({
    issuer,
    trustDomain,
    lifetime,
    roles: names(options.roles, 'wit.roles'),
    attributes: names(options.attributes, 'wit.attributes'),
    maxTokenBytes,
    verifiers,
    proofs: new ProofVerifier({ issuer, maxAge: maxProofAge, clockTolerance, maxTokenBytes, clock, state }),
    keys,
    engine,
    audit: new WitAudit(context.audit),
    clock,
  })
  return {
    issuer: {
      endpoint: `${issuer}${WIT_ISSUANCE_PATH}`,
      jwksUri: `${issuer}${WIT_JWKS_PATH}`,
      trustDomain,
      issue: (request) => issuance.issue(request),
      jwks: () => keys.jwks(),
      rotateKey: (key) => keys.rotate(key),
    },
    jwksMaxAge: Math.min(300, Math.floor(activationDelay / 2)),
    refusedEarly: (error) => issuance.refusedEarly(error),
  }
}
