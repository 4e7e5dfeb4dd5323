/**
 * One token exchange, in a fixed order: client authentication, the request, the subject token,
 * revocation, scope narrowing, the user, the issuance policy, the replacement cap, signing. Every
 * outcome, issued or refused, is audited and traced.
 */
import { randomUUID } from 'node:crypto'
import type { DecisionEngine, Principal, Value, VerifiedCaller } from '@meshguard/core'
import type { ClientAuthenticator } from './client-auth.js'
import { mergeContext } from './context-merge.js'
import { refuse, type TokenExchangeError } from './errors.js'
import { auditedRun, type ExchangeAudit } from './exchange-audit.js'
import type { FormParams } from './form.js'
import { putOwn } from './plain-data.js'
import type { RevocationCheck, SubjectInfo, UserLookup } from './options.js'
import type { OwnSubject, SelfSignedSubjects, TxnTokenSubjects } from './own-subjects.js'
import { checkGrantType, parseExchangeRequest, type ExchangeRequest, type RequestRules } from './request.js'
import { checkNarrowing } from './scope.js'
import type { ClientAuthentication } from './service-api.js'
import type { SigningKeyRing } from './signing-keys.js'
import type { ServiceState } from './state/shared-state.js'
import type { SubjectIssuers } from './subject-issuers.js'
import {
  TOKEN_TYPES,
  TXN_TOKEN_ACTIONS,
  TXN_TOKEN_RESOURCE_KIND,
  TXN_TOKEN_TYP,
  type TxnTokenClaims,
  type TxnTokenResponse,
  type TxnTokenUser,
} from './token-format.js'
import { completeUser, userFromClaims } from './user.js'

/** Everything an exchange needs, resolved once by the service. */
export interface ExchangeSettings {
  readonly issuer: string
  readonly trustDomain: string
  readonly lifetime: number
  readonly maxReplacements: number
  readonly rules: RequestRules
  readonly clients: ClientAuthenticator
  readonly subjectIssuers: SubjectIssuers
  readonly selfSigned: SelfSignedSubjects
  readonly txnTokens: TxnTokenSubjects
  readonly keys: SigningKeyRing
  readonly engine: DecisionEngine
  readonly lookupUser: UserLookup | undefined
  readonly isRevoked: RevocationCheck | undefined
  readonly audit: ExchangeAudit
  /** Where replacement counts are kept (this process, or shared by the replicas). */
  readonly state: ServiceState
  readonly clock: () => number
}

/** What the audit record and span of one exchange say; filled in as the exchange goes. */
export interface ExchangeTrace {
  action: 'issue' | 'replace'
  requester: VerifiedCaller | undefined
  subject: SubjectInfo | undefined
  subjectTokenKind: string | undefined
  scope: readonly string[] | undefined
  txn: string | undefined
  policy: string | undefined
  assertion: string | undefined
  subjectToken: string | undefined
}

/** The subject of an exchange, verified, with what it allows. */
interface Subject {
  readonly info: SubjectInfo
  readonly scope: readonly string[] | undefined
  readonly user: TxnTokenUser | undefined
  /** The replaced Txn-Token's claims, for replacements. */
  readonly replaced: TxnTokenClaims | undefined
}

/** Runs token exchanges for one service. */
export class Exchanger {
  constructor(private readonly settings: ExchangeSettings) {}

  /**
   * Answers one request: the response, or throws a `TokenExchangeError`. Never throws anything else.
   */
  async exchange(params: FormParams, client: ClientAuthentication): Promise<TxnTokenResponse> {
    const trace = newTrace(params.get('subject_token_type') === TOKEN_TYPES.txnToken ? 'replace' : 'issue', client.assertion)
    const { audit } = this.settings
    const span = audit.start(trace)
    return auditedRun(
      () => this.run(params, client, trace),
      () => audit.issued(trace, span),
      (refusal) => audit.refused(trace, span, refusal),
    )
  }

  /** Audits a request refused before its parameters could be read (body too large, not a form, ...). */
  refusedEarly(error: TokenExchangeError): void {
    const trace = newTrace('issue', undefined)
    this.settings.audit.refused(trace, this.settings.audit.start(trace), error)
  }

  private async run(params: FormParams, client: ClientAuthentication, trace: ExchangeTrace): Promise<TxnTokenResponse> {
    const { settings } = this
    checkGrantType(params)
    const requester = await settings.clients.authenticate(client)
    trace.requester = requester
    const request = parseExchangeRequest(params, settings.rules)
    trace.subjectTokenKind = request.subjectTokenKind
    trace.subjectToken = request.subjectToken
    trace.scope = request.scope

    const subject = await this.subject(request, requester)
    trace.subject = subject.info
    if (subject.replaced !== undefined) trace.txn = subject.replaced.txn
    await this.checkRevocation(subject.info)
    checkNarrowing(request.scope, subject.scope)

    const replaced = subject.replaced
    const tctx = mergeContext('request_details', withoutUser(replaced?.tctx), request.details)
    const rctx = mergeContext('request_context', replaced?.rctx, request.context)
    const txn = replaced?.txn ?? randomUUID()
    trace.txn = txn

    await this.authorize(trace, requester.principal, {
      scope: [...request.scope],
      audience: settings.trustDomain,
      subjectTokenType: request.subjectTokenKind,
      subject: {
        issuer: subject.info.issuer,
        sub: subject.info.sub,
        id: subject.info.id,
        scope: [...(subject.scope ?? [])],
      },
      ...(subject.user === undefined ? {} : { user: toValue(subject.user) }),
      details: toValue(request.details ?? {}),
      context: toValue(request.context ?? {}),
      ...(replaced === undefined ? {} : { txn: replaced.txn, previousScope: replaced.scope.split(' '), previousReqWl: replaced.req_wl }),
    })

    const now = settings.clock()
    const iat = Math.floor(now / 1000)
    let exp = iat + settings.lifetime
    if (replaced !== undefined) {
      // A replacement never outlives the token it replaces, and a transaction is replaced a bounded number of times.
      exp = Math.min(exp, replaced.exp)
      const count = await settings.state.replaced(txn, replaced.exp * 1000 + 1000, now)
      if (count > settings.maxReplacements) throw refuse.grant('replacement_limit', 'this transaction was replaced too many times')
    }
    const claims: TxnTokenClaims = {
      iss: settings.issuer,
      iat,
      aud: settings.trustDomain,
      exp,
      txn,
      sub: subject.info.id,
      scope: request.scope.join(' '),
      req_wl: requester.workload.id,
    }
    if (replaced !== undefined) claims.req_wl_prev = [...(replaced.req_wl_prev ?? []), replaced.req_wl]
    const user = subject.user
    if (tctx !== undefined || user !== undefined) claims.tctx = { ...(tctx ?? {}), ...(user === undefined ? {} : { user }) }
    if (rctx !== undefined) claims.rctx = rctx
    const token = settings.keys.sign(claims as unknown as Record<string, unknown>, TXN_TOKEN_TYP)
    return { access_token: token, issued_token_type: TOKEN_TYPES.txnToken, token_type: 'N_A', expires_in: exp - iat }
  }

  /** Verifies the subject token of its kind and works out the user it stands for. */
  private async subject(request: ExchangeRequest, requester: VerifiedCaller): Promise<Subject> {
    const { settings } = this
    switch (request.subjectTokenKind) {
      case 'txn_token': {
        const { subject, claims } = settings.txnTokens.verify(request.subjectToken)
        const carried = claims.tctx?.user
        return { ...subject, user: carried, replaced: claims }
      }
      case 'self_signed': {
        const subject: OwnSubject = await settings.selfSigned.verify(request.subjectToken, requester)
        return { ...subject, user: undefined, replaced: undefined }
      }
      default: {
        const verified = await settings.subjectIssuers.verify(request.subjectToken, request.subjectTokenKind)
        const user = await completeUser(userFromClaims(verified.info.claims, verified.userClaims), verified.info, settings.lookupUser)
        return { info: verified.info, scope: verified.scope, user, replaced: undefined }
      }
    }
  }

  private async checkRevocation(subject: SubjectInfo): Promise<void> {
    const check = this.settings.isRevoked
    if (check === undefined) return
    let revoked: boolean
    try {
      revoked = await check(subject)
    } catch (err) {
      throw refuse.unavailable('revocation_check_failed', 'the revocation check is unavailable', err)
    }
    if ((revoked as unknown) !== false) throw refuse.grant('subject_revoked', 'the subject or its session is revoked')
  }

  /** Asks the engine whether the requester may get this token; refuses unless it allows. */
  private async authorize(trace: ExchangeTrace, principal: Principal, attr: Record<string, Value>): Promise<void> {
    const { action } = trace
    const policyAction = action === 'replace' ? TXN_TOKEN_ACTIONS.replace : TXN_TOKEN_ACTIONS.issue
    let allowed: boolean
    try {
      const response = await this.settings.engine.checkResources({
        principal,
        resources: [{ resource: { kind: TXN_TOKEN_RESOURCE_KIND, id: trace.txn ?? 'new', attr }, actions: [policyAction] }],
        includeMeta: true,
      })
      const result = response.results[0]
      trace.policy = result?.meta?.actions[policyAction]?.matchedPolicy
      allowed = result?.actions[policyAction] === 'EFFECT_ALLOW'
    } catch (err) {
      throw refuse.unavailable('engine_unavailable', 'the issuance policy could not be evaluated', err)
    }
    if (!allowed) throw refuse.unauthorized('policy_denied', `the issuance policy does not allow this workload to ${policyAction} this token`)
  }
}

function newTrace(action: 'issue' | 'replace', assertion: string | undefined): ExchangeTrace {
  return {
    action,
    requester: undefined,
    subject: undefined,
    subjectTokenKind: undefined,
    scope: undefined,
    txn: undefined,
    policy: undefined,
    assertion,
    subjectToken: undefined,
  }
}

/** A replaced token's `tctx` without `user` (the user is carried separately). */
function withoutUser(tctx: TxnTokenClaims['tctx']): Record<string, unknown> | undefined {
  if (tctx === undefined) return undefined
  const rest = Object.create(null) as Record<string, unknown>
  for (const [key, value] of Object.entries(tctx)) if (key !== 'user') putOwn(rest, key, value)
  return rest
}

/** A JSON value as policies see it (prototype-less objects become ordinary ones). */
function toValue(value: unknown): Value {
  return JSON.parse(JSON.stringify(value)) as Value
}
