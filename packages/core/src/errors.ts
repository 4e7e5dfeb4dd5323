/**
 * The one error family of meshguard. Every failure has a stable `code` (what kind of failure, maps to
 * an HTTP status) and, where useful, a snake_case `reason` (why exactly, e.g. `aud_mismatch`).
 *
 * Deny is a result, not an error: the engine returns decisions. Errors are for failures.
 * Messages never contain tokens or policy internals that a caller should not see.
 */

/** Stable error codes. Documented in docs/reference/errors.md (a test keeps the two in step). */
export type MeshguardErrorCode =
  | 'ERR_AUTHZ_INVALID_CONFIG'
  | 'ERR_AUTHZ_POLICY_INVALID'
  | 'ERR_AUTHZ_REQUEST_INVALID'
  | 'ERR_AUTHZ_CONDITION_EVALUATION'
  | 'ERR_AUTHZ_IDENTITY_MISSING'
  | 'ERR_AUTHZ_IDENTITY_INVALID'
  | 'ERR_AUTHZ_DENIED'
  | 'ERR_AUTHZ_UNAVAILABLE'
  | 'ERR_AUTHZ_MINT_FAILED'
  | 'ERR_AUTHZ_RESOURCE_RESOLUTION'
  | 'ERR_AUTHZ_AUDIT_FAILED'
  | 'ERR_AUTHZ_INTERNAL'

/** Every code with the HTTP status an adapter answers with. */
export const ERROR_HTTP_STATUS: Readonly<Record<MeshguardErrorCode, number>> = Object.freeze({
  ERR_AUTHZ_INVALID_CONFIG: 500,
  ERR_AUTHZ_POLICY_INVALID: 500,
  ERR_AUTHZ_REQUEST_INVALID: 400,
  ERR_AUTHZ_CONDITION_EVALUATION: 500,
  ERR_AUTHZ_IDENTITY_MISSING: 401,
  ERR_AUTHZ_IDENTITY_INVALID: 401,
  ERR_AUTHZ_DENIED: 403,
  ERR_AUTHZ_UNAVAILABLE: 503,
  ERR_AUTHZ_MINT_FAILED: 500,
  ERR_AUTHZ_RESOURCE_RESOLUTION: 500,
  ERR_AUTHZ_AUDIT_FAILED: 503,
  ERR_AUTHZ_INTERNAL: 500,
})

/** Options accepted by every meshguard error constructor. */
export interface MeshguardErrorOptions {
  /** The underlying failure (kept for logs; never sent to callers). */
  cause?: unknown
  /** A snake_case machine-readable reason, e.g. `aud_mismatch`. */
  reason?: string | undefined
  /** For identity failures: which of the request's tokens the failure is about. */
  tokenKind?: TokenKind | undefined
}

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null

/** The two tokens a request can carry: the caller's workload token and the actor token. */
export type TokenKind = 'workload' | 'actor'

const kMeshguardError = Symbol.for('@meshguard/error')

/**
 * Base class of every meshguard error. `instanceof` works across duplicate installs of the package
 * because each class checks a `Symbol.for` brand instead of its prototype chain.
 */
export class MeshguardError extends Error {
  /** The stable code of this error kind. */
  readonly code: MeshguardErrorCode
  /** Machine-readable reason, snake_case. Defaults to the lower-cased code suffix. */
  readonly reason: string
  /**
   * Which of the request's tokens an identity failure is about (`workload`: the `Authorization`
   * bearer token; `actor`: the actor token), when the verifier knows; set once, by identity.
   */
  tokenKind: TokenKind | undefined

  constructor(code: MeshguardErrorCode, message: string, options: MeshguardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.reason = options.reason ?? code.replace(/^ERR_AUTHZ_/, '').toLowerCase()
    this.tokenKind = options.tokenKind
    // No Error.captureStackTrace here: super() already captured the same trace (V8 starts it below
    // new.target's constructor), and capturing again doubled the cost of every error.
  }

  /** The HTTP status an adapter should answer with. */
  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code]
  }

  get [kMeshguardError](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isObject(value) || !(kMeshguardError in value)) return false
    if (this === MeshguardError) return true
    const brand = (this as unknown as { brand?: symbol }).brand
    return brand !== undefined && brand in value
  }
}

/** Declares a branded subclass; each gets its own `Symbol.for` brand so siblings never match. */
function brandOf(code: MeshguardErrorCode): symbol {
  return Symbol.for(`@meshguard/error.${code}`)
}

const kConfig = brandOf('ERR_AUTHZ_INVALID_CONFIG')
/** A configuration mistake, thrown at construction time, naming the option path. */
export class ConfigError extends MeshguardError {
  static readonly brand = kConfig
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_INVALID_CONFIG' as const
  declare readonly code: 'ERR_AUTHZ_INVALID_CONFIG'
  get [kConfig](): true {
    return true
  }
  /** The dotted option path, e.g. `identity.trust.issuers[0].jwksUrl`. */
  readonly option: string
  constructor(option: string, message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_INVALID_CONFIG', `${option}: ${message}`, options)
    this.option = option
  }
}

/** One problem found while loading or compiling policies. */
export interface PolicyIssue {
  /** The policy file, relative to the policy directory (or a caller-given name). */
  file: string
  /** 1-based line, when known. */
  line?: number | undefined
  /** 1-based column, when known. */
  column?: number | undefined
  /** Path inside the document, e.g. `resourcePolicy.rules[0].condition`. */
  path?: string | undefined
  /** What is wrong. */
  message: string
  /**
   * The issue this one follows from, when it is only a consequence of it (a derived role or
   * variable is unknown because the import that defines it is missing). Tools show it with that
   * issue rather than as an error of its own; it stays in the list, as Cerbos reports it too.
   */
  causedBy?: PolicyIssue | undefined
}

/** Formats an issue as `file:line:column: message`. */
export function formatPolicyIssue(issue: PolicyIssue): string {
  const where = [issue.file, issue.line, issue.line !== undefined ? issue.column : undefined]
    .filter((part) => part !== undefined)
    .join(':')
  return `${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`
}

const kPolicy = brandOf('ERR_AUTHZ_POLICY_INVALID')
/** Policies failed to load or compile. Carries every issue found, not just the first. */
export class PolicyError extends MeshguardError {
  static readonly brand = kPolicy
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_POLICY_INVALID' as const
  declare readonly code: 'ERR_AUTHZ_POLICY_INVALID'
  get [kPolicy](): true {
    return true
  }
  /** Every problem found, each with file and line. */
  readonly issues: readonly PolicyIssue[]
  constructor(issues: readonly PolicyIssue[], options: MeshguardErrorOptions = {}) {
    const first = issues[0]
    const summary = first ? formatPolicyIssue(first) : 'invalid policies'
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
    super('ERR_AUTHZ_POLICY_INVALID', `${summary}${more}`, { reason: 'policy_invalid', ...options })
    this.issues = Object.freeze([...issues])
  }
}

const kRequest = brandOf('ERR_AUTHZ_REQUEST_INVALID')
/** A malformed check request (missing principal id, resource kind, ...). Never an allow. */
export class RequestError extends MeshguardError {
  static readonly brand = kRequest
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_REQUEST_INVALID' as const
  declare readonly code: 'ERR_AUTHZ_REQUEST_INVALID'
  get [kRequest](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_REQUEST_INVALID', message, { reason: 'request_invalid', ...options })
  }
}

const kIdentityMissing = brandOf('ERR_AUTHZ_IDENTITY_MISSING')
/** Credentials were required but absent (401). */
export class IdentityMissingError extends MeshguardError {
  static readonly brand = kIdentityMissing
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_IDENTITY_MISSING' as const
  declare readonly code: 'ERR_AUTHZ_IDENTITY_MISSING'
  get [kIdentityMissing](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_IDENTITY_MISSING', message, { reason: 'token_missing', ...options })
  }
}

const kIdentityInvalid = brandOf('ERR_AUTHZ_IDENTITY_INVALID')
/** Credentials were present but rejected (401). `reason` says why (`aud_mismatch`, `token_expired`, ...). */
export class IdentityError extends MeshguardError {
  static readonly brand = kIdentityInvalid
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_IDENTITY_INVALID' as const
  declare readonly code: 'ERR_AUTHZ_IDENTITY_INVALID'
  get [kIdentityInvalid](): true {
    return true
  }
  constructor(reason: string, message: string, options: Omit<MeshguardErrorOptions, 'reason'> = {}) {
    super('ERR_AUTHZ_IDENTITY_INVALID', message, { ...options, reason })
  }
}

const kDenied = brandOf('ERR_AUTHZ_DENIED')
/** The policy denied the action (403). Thrown only by helpers and adapters; the engine returns data. */
export class DeniedError extends MeshguardError {
  static readonly brand = kDenied
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_DENIED' as const
  declare readonly code: 'ERR_AUTHZ_DENIED'
  get [kDenied](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_DENIED', message, { reason: 'denied', ...options })
  }
}

const kUnavailable = brandOf('ERR_AUTHZ_UNAVAILABLE')
/** A dependency needed to decide (JWKS endpoint, remote PDP) is unavailable: fail closed (503). */
export class UnavailableError extends MeshguardError {
  static readonly brand = kUnavailable
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_UNAVAILABLE' as const
  declare readonly code: 'ERR_AUTHZ_UNAVAILABLE'
  get [kUnavailable](): true {
    return true
  }
  constructor(reason: string, message: string, options: Omit<MeshguardErrorOptions, 'reason'> = {}) {
    super('ERR_AUTHZ_UNAVAILABLE', message, { ...options, reason })
  }
}

const kMint = brandOf('ERR_AUTHZ_MINT_FAILED')
/** An outbound token could not be minted (key missing, token endpoint down). Nothing was sent. */
export class MintError extends MeshguardError {
  static readonly brand = kMint
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_MINT_FAILED' as const
  declare readonly code: 'ERR_AUTHZ_MINT_FAILED'
  get [kMint](): true {
    return true
  }
  constructor(reason: string, message: string, options: Omit<MeshguardErrorOptions, 'reason'> = {}) {
    super('ERR_AUTHZ_MINT_FAILED', message, { ...options, reason })
  }
}

const kCondition = brandOf('ERR_AUTHZ_CONDITION_EVALUATION')
/** A CEL expression could not be compiled or evaluated. */
export class ConditionError extends MeshguardError {
  static readonly brand = kCondition
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_CONDITION_EVALUATION' as const
  declare readonly code: 'ERR_AUTHZ_CONDITION_EVALUATION'
  get [kCondition](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_CONDITION_EVALUATION', message, { reason: 'condition_error', ...options })
  }
}

/**
 * A query plan uses an operator that a translation (in-memory predicate, SQL) cannot express. Thrown
 * instead of producing a wider (or any approximate) filter.
 */
export class PlanOperatorError extends ConditionError {
  /** The plan operator that cannot be translated, e.g. `transformMapEntry`. */
  readonly operator: string
  constructor(operator: string, message: string, options: Omit<MeshguardErrorOptions, 'reason'> = {}) {
    super(message, { ...options, reason: 'unsupported_operator' })
    this.operator = operator
  }
}

/**
 * A list route needs a query plan, and the guard's engine cannot plan (a remote PDP engine without
 * `planResources`). Thrown when such a route is registered; a request that still reaches it fails
 * closed with this error (500), never with an unfiltered list.
 */
export class PlanUnsupportedError extends ConfigError {
  constructor(message = 'the engine cannot plan resources (no planResources())', options: Omit<MeshguardErrorOptions, 'reason'> = {}) {
    super('engine', message, { ...options, reason: 'plan_unsupported' })
  }
}

const kResource = brandOf('ERR_AUTHZ_RESOURCE_RESOLUTION')
/** A user-supplied resource resolver or loader failed. Fails closed. */
export class ResourceResolutionError extends MeshguardError {
  static readonly brand = kResource
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_RESOURCE_RESOLUTION' as const
  declare readonly code: 'ERR_AUTHZ_RESOURCE_RESOLUTION'
  get [kResource](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_RESOURCE_RESOLUTION', message, { reason: 'resource_resolution_failed', ...options })
  }
}

const kAudit = brandOf('ERR_AUTHZ_AUDIT_FAILED')
/** The audit record could not be written and the service is configured to fail closed. */
export class AuditError extends MeshguardError {
  static readonly brand = kAudit
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_AUDIT_FAILED' as const
  declare readonly code: 'ERR_AUTHZ_AUDIT_FAILED'
  get [kAudit](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_AUDIT_FAILED', message, { reason: 'audit_unavailable', ...options })
  }
}

const kInternal = brandOf('ERR_AUTHZ_INTERNAL')
/** An unexpected failure. Never an allow. */
export class InternalError extends MeshguardError {
  static readonly brand = kInternal
  /** The stable code every instance of this class carries. */
  static readonly code = 'ERR_AUTHZ_INTERNAL' as const
  declare readonly code: 'ERR_AUTHZ_INTERNAL'
  get [kInternal](): true {
    return true
  }
  constructor(message: string, options: MeshguardErrorOptions = {}) {
    super('ERR_AUTHZ_INTERNAL', message, { reason: 'internal_error', ...options })
  }
}

/**
 * Every concrete meshguard error, as a union discriminated by `code`: `switch (err.code)` narrows
 * to the class (for example `err.issues` under `'ERR_AUTHZ_POLICY_INVALID'`).
 */
export type AnyMeshguardError =
  | ConfigError
  | PolicyError
  | RequestError
  | IdentityMissingError
  | IdentityError
  | DeniedError
  | UnavailableError
  | MintError
  | ConditionError
  | ResourceResolutionError
  | AuditError
  | InternalError

/** Wraps anything thrown into a meshguard error (unknown failures become `ERR_AUTHZ_INTERNAL`). */
export function toMeshguardError(err: unknown): AnyMeshguardError {
  // Every error the package throws is one of the concrete classes; the base is abstract in practice.
  if (err instanceof MeshguardError) return err as AnyMeshguardError
  return new InternalError('unexpected failure', { cause: err })
}
