/**
 * Engine-level shapes: one input per resource (Cerbos `CheckInput`) and its detailed output
 * (Cerbos `CheckOutput`), plus the engine options.
 */
import type { EngineAuxData, Effect, Principal, Resource, ValidationError } from '../types.js'
import type { EvaluationError } from './evaluation.js'

export type { EngineAuxData } from '../types.js'

/** How JSON-schema validation of attributes is enforced. */
export type SchemaEnforcement = 'none' | 'warn' | 'reject'

/** Options of {@link EmbeddedEngine}. */
export interface EmbeddedEngineOptions {
  /** Values available to conditions as `globals.x` / `G.x`. @defaultValue `{}` */
  globals?: Record<string, unknown> | undefined
  /** Skip missing leaf scopes instead of answering NO_MATCH. @defaultValue `false` */
  lenientScopeSearch?: boolean | undefined
  /**
   * Cerbos `engine.strictEvaluation`: a condition that fails to evaluate denies the actions of its
   * rule (attributed to that rule's policy) instead of counting as false. @defaultValue `false`
   */
  strictEvaluation?: boolean | undefined
  /** JSON-schema enforcement for principal and resource attributes. @defaultValue `'none'` */
  schemaEnforcement?: SchemaEnforcement | undefined
  /** Clock for `now()` (fixed once per check call). @defaultValue `() => new Date()` */
  now?: (() => Date) | undefined
  /**
   * Reuse the answer to a repeated single check (the same frozen principal, e.g. a cached caller; an
   * equal resource; the same action) when its evaluation did not read the clock. Exact: the answer
   * is what evaluating again would give, and a reload starts afresh. `globals` must then stay as
   * configured. @defaultValue `true`
   */
  rememberDecisions?: boolean | undefined
}

/** One resource to decide (Cerbos `CheckInput`). */
export interface CheckInput {
  requestId?: string | undefined
  principal: Principal
  resource: Resource
  actions: string[]
  auxData?: EngineAuxData | undefined
}

/** The decision for one action with its attribution. */
export interface ActionEffect {
  effect: Effect
  /** Deciding policy key, or `NO_MATCH`. */
  policy: string
  /** Scope of the rule that fired; `''` when none did or at the root. */
  scope: string
  /**
   * The rule that decided, as `<policy key>#<rule name>` (the policy that holds the rule, which in a
   * scope chain may be an ancestor of `policy`); absent for no match and synthesised role-policy denials.
   */
  rule?: string | undefined
}

/** An output entry with the action it was produced for. */
export interface CheckOutputEntry {
  src: string
  action: string
  val?: unknown
  error?: string | undefined
}

/** Everything decided for one input (Cerbos `CheckOutput`). */
export interface CheckOutput {
  requestId: string
  resourceId: string
  actions: Record<string, ActionEffect>
  effectiveDerivedRoles: string[]
  validationErrors: ValidationError[]
  outputs: CheckOutputEntry[]
  evaluationErrors: EvaluationError[]
  /** Policies consulted while deciding: policy key → source file (shared, read-only). */
  effectivePolicies: Readonly<Record<string, string>>
}
