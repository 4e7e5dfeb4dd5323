/**
 * The contract between the CEL layer and the engine: what a condition sees (the activation) and
 * what a compiled condition offers (the program).
 */

/** The principal as CEL sees it (`request.principal`, `P`). */
export interface CelPrincipal {
  id: string
  roles: readonly string[]
  attr: Record<string, unknown>
  policyVersion: string
  scope: string
}

/** The resource as CEL sees it (`request.resource`, `R`). */
export interface CelResource {
  kind: string
  id: string
  attr: Record<string, unknown>
  policyVersion: string
  scope: string
}

/** The `request` object of a Cerbos condition. `aux_data`/`policy_version` spellings are mapped at compile time. */
export interface CelRequest {
  principal: CelPrincipal
  resource: CelResource
  /**
   * Verified JWT claims: `jwt` for the single-token form, `jwts.<name>.claims` for the named
   * multi-token form (`request.auxData.jwts.token_a.claims.aud`).
   */
  auxData: { jwt: Record<string, unknown>; jwts?: Record<string, { claims: Record<string, unknown> }> }
}

/**
 * Everything one evaluation can read. Build it once per checked resource and reuse it for every
 * condition: evaluation does not copy it.
 */
export interface CelActivation {
  request: CelRequest
  /**
   * `V.x` / `variables.x`. A plain object; properties may be lazy memoizing getters defined as
   * own properties (`Object.defineProperty`), so a variable is computed only when a condition reads it.
   */
  variables: Record<string, unknown>
  /** `C.x` / `constants.x`. */
  constants: Record<string, unknown>
  /** `G.x` / `globals.x`: the engine globals. */
  globals: Record<string, unknown>
  /** `runtime.effectiveDerivedRoles` (sorted; empty inside derived-role conditions). */
  runtime: { effectiveDerivedRoles: readonly string[] }
  /** What `now()` returns; fixed for the whole request. */
  now: Date
}

/** A CEL expression compiled once, evaluated many times. */
export interface CelProgram {
  /** The expression as written in the policy. */
  readonly source: string
  /** Names read through `V.x`, `variables.x`, `V["x"]` (found by walking the AST). */
  readonly variableRefs: ReadonlySet<string>
  /** Names read through `C.x`, `constants.x`, `C["x"]`. */
  readonly constantRefs: ReadonlySet<string>
  /**
   * Evaluates the expression. CEL values come back as JS values: `int` as `bigint`, `double` as
   * `number`, timestamps as `Date`.
   *
   * @throws ConditionError when evaluation fails (missing key, no such overload, ...); the message
   *   is cel-go's wording (`no such key: x`) so it can be reported as a Cerbos evaluation error.
   */
  evaluate(activation: CelActivation): unknown
}

/** A node of the CEL library's parse tree (the query planner reads it; internal, not re-exported). */
export type { ASTNode as CelAstNode } from '@marcbachmann/cel-js'
