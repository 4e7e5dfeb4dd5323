/**
 * Kubernetes projected service-account tokens as attestations: verified against the configured
 * cluster's keys, `aud` = the configured audience, unexpired, with the `kubernetes.io` claims
 * (namespace, service account, pod when bound to one) consistent with `sub`.
 */
import { ConfigError } from '@meshguard/core'
import { WIT_ATTESTATION_TYPES } from '@meshguard/core/wimse'
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, type JWTVerifyGetKey } from 'jose'
import { refuse } from '../errors.js'
import { jwtKeySource, verifyIssuerJwt, type JwtRefusals } from '../jwt-keys.js'
import { ALLOWED_SUBJECT_ALGORITHMS, ownMember } from '../plain-data.js'
import { checkWorkloadId, factsOf, type Attestation, type AttestationVerifier } from './attestation.js'
import type { KubernetesAttestationOptions } from './wit-options.js'
import { compileSubjectTemplate, type SubjectTemplate } from './subject-template.js'

const DEFAULT_TEMPLATE = 'spiffe://{trustDomain}/ns/{namespace}/sa/{serviceAccount}'
const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA']
const FACT_NAMES = ['cluster', 'namespace', 'serviceAccount']
/** Projected tokens carry no `typ`, or `JWT`; a token typed as anything else is not one. */
const ACCEPTED_TYP = new Set([undefined, 'JWT', 'jwt'])

interface Cluster {
  readonly name: string
  readonly issuer: string
  readonly audience: string
  readonly algorithms: string[]
  readonly maxTokenAge: number
  readonly keys: () => Promise<JWTVerifyGetKey>
  readonly subject: SubjectTemplate
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' && value.length <= 253 ? value : undefined)

/** A failed service-account token as the issuer's refusal. */
const ATTESTATION_REFUSALS: JwtRefusals = {
  unavailable: (err) => refuse.unavailable('attestation_keys_unavailable', 'the cluster keys are unavailable', err),
  invalid: (err) => {
    if (err instanceof joseErrors.JWTExpired) return refuse.request('attestation_expired', 'attestation has expired', err)
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') return refuse.request('attestation_audience', 'attestation is for another audience', err)
    return refuse.request('attestation_invalid', 'attestation is not valid', err)
  },
}

/** Settings the clusters share. */
export interface KubernetesSettings {
  readonly issuerUrl: string
  readonly trustDomain: string
  readonly clockTolerance: number
  readonly clock: () => number
}

/** The configured clusters. */
export class KubernetesAttestations implements AttestationVerifier {
  private readonly byIssuer = new Map<string, Cluster>()

  constructor(
    list: readonly KubernetesAttestationOptions[],
    private readonly settings: KubernetesSettings,
  ) {
    list.forEach((options, i) => {
      const option = `wit.kubernetes[${i}]`
      if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError(option, 'must be an object')
      if (typeof options.cluster !== 'string' || options.cluster === '') throw new ConfigError(`${option}.cluster`, 'is required')
      if (typeof options.issuer !== 'string' || options.issuer === '') throw new ConfigError(`${option}.issuer`, 'is required')
      if (this.byIssuer.has(options.issuer)) throw new ConfigError(`${option}.issuer`, 'is listed twice')
      const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- alg is the caller's, a string only by its type
      for (const alg of algorithms) if (!ALLOWED_SUBJECT_ALGORITHMS.has(alg)) throw new ConfigError(`${option}.algorithms`, `"${String(alg)}" is not an allowed asymmetric algorithm`)
      const maxTokenAge = options.maxTokenAge ?? 86_400
      if (!Number.isFinite(maxTokenAge) || maxTokenAge <= 0) throw new ConfigError(`${option}.maxTokenAge`, 'must be a positive number of seconds')
      this.byIssuer.set(options.issuer, {
        name: options.cluster,
        issuer: options.issuer,
        audience: options.audience ?? settings.issuerUrl,
        algorithms,
        maxTokenAge,
        keys: jwtKeySource(options.keys, `${option}.keys`, options.issuer, options.timeoutMs ?? 5000),
        subject: compileSubjectTemplate(options.subject ?? DEFAULT_TEMPLATE, FACT_NAMES, settings.trustDomain, `${option}.subject`),
      })
    })
  }

  async verify(token: string): Promise<Attestation> {
    let iss: unknown
    let typ: unknown
    try {
      iss = decodeJwt(token).iss
      typ = decodeProtectedHeader(token).typ
    } catch (err) {
      throw refuse.request('attestation_malformed', 'attestation is not a JWT', err)
    }
    const cluster = typeof iss === 'string' ? this.byIssuer.get(iss) : undefined
    if (cluster === undefined) throw refuse.request('attestation_issuer_unknown', 'attestation issuer is not a configured cluster')
    if (!ACCEPTED_TYP.has(typ as string | undefined)) throw refuse.request('attestation_typ', 'attestation is not a service-account token')
    const claims = await verifyIssuerJwt(
      token,
      cluster.keys,
      {
        issuer: cluster.issuer,
        audience: cluster.audience,
        algorithms: cluster.algorithms,
        clockTolerance: this.settings.clockTolerance,
        maxTokenAge: cluster.maxTokenAge,
        currentDate: new Date(this.settings.clock()),
      },
      ATTESTATION_REFUSALS,
    )
    const k8s = ownMember(claims, 'kubernetes.io')
    const account = ownMember(k8s, 'serviceaccount')
    const pod = ownMember(k8s, 'pod')
    const namespace = text(ownMember(k8s, 'namespace'))
    const serviceAccount = text(ownMember(account, 'name'))
    if (namespace === undefined || serviceAccount === undefined || ownMember(claims, 'sub') !== `system:serviceaccount:${namespace}:${serviceAccount}`) {
      throw refuse.request('attestation_claims', 'attestation is not a service-account token of one namespace and account')
    }
    const facts = factsOf([
      ['cluster', cluster.name],
      ['namespace', namespace],
      ['serviceAccount', serviceAccount],
      ['serviceAccountUid', text(ownMember(account, 'uid'))],
      ['pod', text(ownMember(pod, 'name'))],
      ['podUid', text(ownMember(pod, 'uid'))],
    ])
    const sub = cluster.subject(facts)
    checkWorkloadId(sub, this.settings.trustDomain)
    return { type: WIT_ATTESTATION_TYPES.kubernetes, authority: cluster.issuer, facts, sub }
  }
}
