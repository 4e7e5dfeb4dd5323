/**
 * Subject tokens vouched for inside the trust domain: `self_signed` tokens of the requesting
 * workload (internally started transactions, draft §11.2.1) and this service's own Txn-Tokens
 * (replacement, draft §13.15).
 */
import { createIdentityVerifier, type TrustBundle, type VerifiedCaller } from '@meshguard/core'
import { fromVerifierError, refuse } from './errors.js'
import type { SubjectInfo } from './options.js'
import { frozenJson } from './plain-data.js'
import { scopeOfClaims } from './scope.js'
import { bearerBesideProofs } from './wimse-client-auth.js'
import type { SigningKeyRing } from './signing-keys.js'
import { TXN_TOKEN_TYP, type TxnTokenClaims } from './token-format.js'

/** A verified subject and the scope it allows. */
export interface OwnSubject {
  readonly info: SubjectInfo
  readonly scope: string[] | undefined
}

/** Verifies `self_signed` subject tokens: signed by the requester's workload key, `aud` = this service. */
export class SelfSignedSubjects {
  private readonly verifier

  constructor(trust: TrustBundle, issuer: string, clockTolerance: number, maxTokenBytes: number, clock: () => number) {
    this.verifier = createIdentityVerifier({ audience: issuer, trust, ...bearerBesideProofs(trust, issuer), clockTolerance, maxTokenBytes, maxWorkloadLifetime: 3600, cacheSize: 0, signatureCheck: 'inline', clock })
  }

  /**
   * The subject: the requesting workload itself (the token's `iss` must be the authenticated client;
   * a self-signed key never vouches for anyone but its own workload).
   */
  async verify(token: string, requester: VerifiedCaller): Promise<OwnSubject> {
    let subject: VerifiedCaller
    try {
      subject = await this.verifier.verify({ authorization: `Bearer ${token}` }, { actor: 'forbidden' })
    } catch (err) {
      throw fromVerifierError(err, (reason) =>
        refuse.request(reason === 'token_expired' ? 'subject_token_expired' : 'subject_token_invalid', 'self_signed subject_token is not valid', err),
      )
    }
    const claims = subject.workload.claims
    if (claims['iss'] !== requester.workload.id || subject.workload.id !== requester.workload.id) {
      throw refuse.request('subject_not_requester', 'a self_signed subject_token must be issued by the requesting workload')
    }
    const info: SubjectInfo = frozenJson<SubjectInfo>({
      tokenType: 'self_signed',
      issuer: requester.workload.id,
      sub: subject.workload.id,
      id: subject.workload.id,
      sid: undefined,
      txn: undefined,
      claims: { ...claims },
    })
    return { info, scope: scopeOfClaims(claims, 'scope') }
  }
}

const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string')
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Verifies this service's own Txn-Tokens for replacement. */
export class TxnTokenSubjects {
  constructor(
    private readonly keys: SigningKeyRing,
    private readonly issuer: string,
    private readonly trustDomain: string,
    private readonly clockTolerance: number,
    private readonly clock: () => number,
  ) {}

  /**
   * The Txn-Token's claims, when it is one of ours and unexpired (an expired token is never
   * replaced: no tolerance on `exp`).
   */
  verify(token: string): { subject: OwnSubject; claims: TxnTokenClaims } {
    const verified = this.keys.verify(token)
    if (verified === undefined) throw refuse.request('subject_token_invalid', 'subject_token is not a Txn-Token of this service')
    if (verified.header['typ'] !== TXN_TOKEN_TYP) throw refuse.request('subject_token_typ', 'subject_token is not a Txn-Token')
    const claims = verified.payload
    if (!isPlainObject(claims)) throw refuse.request('subject_token_invalid', 'subject_token claims are malformed')
    const { iss, aud, iat, exp, txn, sub, scope, req_wl: reqWl, req_wl_prev: reqWlPrev, tctx, rctx } = claims
    if (iss !== this.issuer || aud !== this.trustDomain) throw refuse.request('subject_token_invalid', 'subject_token is for another issuer or trust domain')
    if (typeof iat !== 'number' || typeof exp !== 'number' || typeof txn !== 'string' || typeof sub !== 'string' || typeof scope !== 'string' || typeof reqWl !== 'string') {
      throw refuse.request('subject_token_invalid', 'subject_token claims are malformed')
    }
    if ((reqWlPrev !== undefined && !isStringList(reqWlPrev)) || (tctx !== undefined && !isPlainObject(tctx)) || (rctx !== undefined && !isPlainObject(rctx))) {
      throw refuse.request('subject_token_invalid', 'subject_token claims are malformed')
    }
    const now = this.clock() / 1000
    if (now >= exp) throw refuse.request('subject_token_expired', 'an expired Txn-Token is never replaced')
    if (iat > now + this.clockTolerance) throw refuse.request('subject_token_invalid', 'subject_token is issued in the future')
    const typed: TxnTokenClaims = { iss, iat, aud, exp, txn, sub, scope, req_wl: reqWl, req_wl_prev: reqWlPrev, tctx, rctx }
    const info: SubjectInfo = frozenJson<SubjectInfo>({ tokenType: 'txn_token', issuer: this.issuer, sub, id: sub, sid: undefined, txn, claims: { ...claims } })
    return { subject: { info, scope: scopeOfClaims(claims, 'scope') }, claims: typed }
  }
}
