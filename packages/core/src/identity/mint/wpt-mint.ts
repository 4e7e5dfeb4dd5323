/**
 * Signs Workload Proof Tokens (wpt-02 §2) with node:crypto directly: one header per credential,
 * one JSON payload and one signature per request.
 */
import { constants, randomBytes, sign } from 'node:crypto'
import { MintError } from '../../errors.js'
import { sha256Base64url } from '../digest.js'
import { JWS_ALGORITHMS_BY_NAME } from '../jws-algorithms.js'
import { WPT_TYP } from '../wimse-wire.js'
import type { WorkloadCredential } from './wit-source.js'

/** The claims of one WPT. */
export interface WptClaims {
  /** The target URI (no query or fragment) or a configured audience. */
  readonly aud: string
  /** Epoch seconds. */
  readonly exp: number
  /** base64url(SHA-256(Txn-Token)), when one travels. */
  readonly tth?: string | undefined
  /** Lower-case header name → base64url(SHA-256(trimmed value)) of other context tokens. */
  readonly oth?: Readonly<Record<string, string>> | undefined
}

/** What is worked out once per credential: the encoded header and `wth`. */
interface Prepared {
  readonly signingInput: string
  readonly wth: string
  readonly digest: string | null
  readonly padding: number | undefined
  readonly saltLength: number | undefined
}

const prepared = new WeakMap<WorkloadCredential, Prepared>()

function prepare(credential: WorkloadCredential): Prepared {
  let known = prepared.get(credential)
  if (known !== undefined) return known
  const spec = JWS_ALGORITHMS_BY_NAME.get(credential.alg)
  if (spec === undefined) throw new MintError('wpt_signing_failed', 'the WIT names an unknown proof algorithm')
  known = Object.freeze({
    signingInput: `${Buffer.from(JSON.stringify({ alg: credential.alg, typ: WPT_TYP })).toString('base64url')}.`,
    wth: sha256Base64url(credential.wit),
    digest: spec.digest,
    padding: spec.rsaPadding === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : spec.rsaPadding === 'pkcs1' ? constants.RSA_PKCS1_PADDING : undefined,
    saltLength: spec.saltLength,
  })
  prepared.set(credential, known)
  return known
}

/**
 * Signs one WPT with the credential's key: a fresh 128-bit `jti`, `wth` of the WIT.
 *
 * @throws MintError `wpt_signing_failed`
 */
export function signWpt(credential: WorkloadCredential, claims: WptClaims): string {
  const p = prepare(credential)
  const payload: Record<string, unknown> = { aud: claims.aud, exp: claims.exp, jti: randomBytes(16).toString('base64url'), wth: p.wth }
  if (claims.tth !== undefined) payload['tth'] = claims.tth
  if (claims.oth !== undefined) payload['oth'] = claims.oth
  const input = p.signingInput + Buffer.from(JSON.stringify(payload)).toString('base64url')
  try {
    const signature = sign(p.digest, Buffer.from(input), { key: credential.privateKey, dsaEncoding: 'ieee-p1363', padding: p.padding, saltLength: p.saltLength })
    return `${input}.${signature.toString('base64url')}`
  } catch (err) {
    throw new MintError('wpt_signing_failed', 'the workload proof token could not be signed', { cause: err })
  }
}
