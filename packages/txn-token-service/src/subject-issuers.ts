/**
 * Verifies external subject tokens (access tokens, ID tokens, other JWTs) against the configured
 * issuers, with their JWKS fetched directly or found through OIDC discovery. Keys only ever come
 * from the configuration, never from a token header.
 */
import { ConfigError } from '@meshguard/core'
import { decodeJwt, errors as joseErrors, type JWTVerifyGetKey } from 'jose'
import { refuse, type TokenExchangeError } from './errors.js'
import { jwtKeySource, verifyIssuerJwt } from './jwt-keys.js'
import type { SubjectInfo, SubjectIssuerOptions, SubjectUserClaims } from './options.js'
import { ALLOWED_SUBJECT_ALGORITHMS, frozenJson, SUBJECT_ALGORITHMS } from './plain-data.js'
import { scopeOfClaims } from './scope.js'
import { TXN_TOKEN_TYP, type SubjectTokenKind } from './token-format.js'

/** `typ` values that never stand for an external subject token (explicit typing, RFC 8725 §3.11). */
const FOREIGN_TYP = new Set([TXN_TOKEN_TYP, 'workload+jwt'])
const normalizeTyp = (typ: string): string => {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/** A verified external subject. */
export interface VerifiedSubject {
  readonly info: SubjectInfo
  /** The scope the token allows; undefined when it does not say. */
  readonly scope: string[] | undefined
  /** Which claims describe the user. */
  readonly userClaims: SubjectUserClaims | undefined
}

interface ResolvedIssuer {
  readonly issuer: string
  readonly kinds: ReadonlySet<string>
  readonly audiences: string[]
  readonly typ: ReadonlySet<string> | undefined
  readonly algorithms: string[]
  readonly maxTokenAge: number
  readonly prefix: string
  readonly scopeClaim: string
  readonly user: SubjectUserClaims | undefined
  readonly keys: () => Promise<JWTVerifyGetKey>
}

function resolveIssuer(options: SubjectIssuerOptions, option: string, count: number): ResolvedIssuer {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError(option, 'must be an object')
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new ConfigError(`${option}.issuer`, 'is required')
  const { audiences } = options
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError(`${option}.audiences`, 'must be a non-empty list')
  }
  const kinds = options.tokenTypes ?? ['access_token']
  if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((k) => k !== 'access_token' && k !== 'jwt' && (k as string) !== 'id_token')) {
    throw new ConfigError(`${option}.tokenTypes`, 'must list access_token, jwt or id_token')
  }
  const algorithms = options.algorithms ?? [...SUBJECT_ALGORITHMS]
  for (const alg of algorithms) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- alg is the caller's, a string only by its type
    if (!ALLOWED_SUBJECT_ALGORITHMS.has(alg)) throw new ConfigError(`${option}.algorithms`, `"${String(alg)}" is not an allowed asymmetric algorithm`)
  }
  const maxTokenAge = options.maxTokenAge ?? 3600
  if (!Number.isFinite(maxTokenAge) || maxTokenAge <= 0) throw new ConfigError(`${option}.maxTokenAge`, 'must be a positive number of seconds')
  return {
    issuer: options.issuer,
    kinds: new Set(kinds),
    audiences: [...audiences],
    typ: options.typ === undefined ? undefined : new Set(options.typ.map(normalizeTyp)),
    algorithms,
    maxTokenAge,
    prefix: options.subjectPrefix ?? (count > 1 ? `${options.issuer}#` : ''),
    scopeClaim: options.scopeClaim ?? 'scope',
    user: options.user,
    keys: jwtKeySource(options.keys, `${option}.keys`, options.issuer, options.timeoutMs ?? 5000),
  }
}

/** Whether the header's `typ` is acceptable for this kind of subject token from this issuer. */
function typAccepted(typ: unknown, kind: SubjectTokenKind, issuer: ResolvedIssuer): boolean {
  if (typ !== undefined && typeof typ !== 'string') return false
  const normalized = typ === undefined ? undefined : normalizeTyp(typ)
  if (issuer.typ !== undefined) return normalized !== undefined && issuer.typ.has(normalized)
  if (kind === 'access_token') return normalized === 'at+jwt'
  if (normalized === undefined || normalized === 'jwt') return true
  return kind === 'jwt' && !FOREIGN_TYP.has(normalized)
}

/** The configured subject-token issuers. */
export class SubjectIssuers {
  private readonly byIssuer = new Map<string, ResolvedIssuer>()

  constructor(
    options: readonly SubjectIssuerOptions[] | undefined,
    private readonly clockTolerance: number,
    private readonly clock: () => number,
  ) {
    const list = options ?? []
    if (!Array.isArray(list)) throw new ConfigError('subjectIssuers', 'must be a list')
    list.forEach((item: SubjectIssuerOptions, i: number) => {
      const resolved = resolveIssuer(item, `subjectIssuers[${i}]`, list.length)
      if (this.byIssuer.has(resolved.issuer)) throw new ConfigError(`subjectIssuers[${i}].issuer`, 'is listed twice')
      this.byIssuer.set(resolved.issuer, resolved)
    })
  }

  /**
   * Verifies an external subject token of `kind`.
   * @throws TokenExchangeError `invalid_request` for a token that does not verify (RFC 8693 §2.2.2),
   *   `temporarily_unavailable` when the issuer's keys cannot be fetched
   */
  async verify(token: string, kind: SubjectTokenKind): Promise<VerifiedSubject> {
    let unverifiedIssuer: unknown
    let header: Record<string, unknown>
    try {
      unverifiedIssuer = decodeJwt(token).iss
      header = JSON.parse(Buffer.from(token.split('.', 1)[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
    } catch (err) {
      throw refuse.request('subject_token_malformed', 'subject_token is not a JWT', err)
    }
    const issuer = typeof unverifiedIssuer === 'string' ? this.byIssuer.get(unverifiedIssuer) : undefined
    if (issuer === undefined) throw refuse.request('subject_issuer_unknown', 'subject_token issuer is not trusted')
    if (!issuer.kinds.has(kind)) throw refuse.request('subject_token_type_not_allowed', 'this issuer is not trusted for this subject_token_type')
    if (typeof header !== 'object' || (header as unknown) === null || !typAccepted(header['typ'], kind, issuer)) {
      throw refuse.request('subject_token_typ', 'subject_token type header is not accepted')
    }
    const unavailable = (err: unknown): TokenExchangeError =>
      refuse.unavailable('subject_keys_unavailable', 'the subject token issuer keys are unavailable', err)
    const claims = await verifyIssuerJwt(
      token,
      issuer.keys,
      {
        issuer: issuer.issuer,
        audience: issuer.audiences,
        algorithms: issuer.algorithms,
        clockTolerance: this.clockTolerance,
        maxTokenAge: issuer.maxTokenAge,
        currentDate: new Date(this.clock()),
      },
      {
        unavailable,
        invalid: (err) =>
          err instanceof joseErrors.JWTExpired
            ? refuse.request('subject_token_expired', 'subject_token has expired', err)
            : refuse.request('subject_token_invalid', 'subject_token is not valid', err),
      },
    )
    const sub = claims['sub']
    if (typeof sub !== 'string' || sub === '' || sub.length > 512) throw refuse.request('subject_token_invalid', 'subject_token has no usable sub')
    const sid = claims['sid']
    const info: SubjectInfo = frozenJson<SubjectInfo>({
      tokenType: kind,
      issuer: issuer.issuer,
      sub,
      id: `${issuer.prefix}${sub}`,
      sid: typeof sid === 'string' ? sid : undefined,
      txn: undefined,
      claims: { ...claims },
    })
    return { info, scope: scopeOfClaims(claims, issuer.scopeClaim), userClaims: issuer.user }
  }
}
