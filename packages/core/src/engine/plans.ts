/** What a check caches about the resource and principal sides of a request shape. */
import type { CompiledDerivedRole, CompiledResourcePolicy } from '../policy/compiled.js'
import type { Binding } from './rows.js'

/** Query results: scope → action → role → rows. */
export type QueryCache = Map<string, Map<string, Map<string, readonly Binding[]>>>

/** What a check needs about the resource side of a request, cached per (kind, version, scope). */
export interface ResourcePlan {
  readonly resourceScopes: readonly string[]
  readonly resourceKey: string
  readonly sanitizedResource: string
  readonly scopedResourceExists: boolean
  /** The root resource policy (its schemas are the ones in force). */
  readonly rootPolicy: CompiledResourcePolicy | undefined
  /** Derived roles referenced by the resource policy at each scope of the chain. */
  readonly derivedRoles: ReadonlyMap<string, readonly CompiledDerivedRole[]>
  /** role → the role plus its role-policy ancestors at the resource scope. */
  readonly parentRoles: Map<string, readonly string[]>
  /** Resource-row query results: scope → action → role → rows. */
  readonly queries: QueryCache
  /** The principal's roles plus their ancestors, by the roles joined with NUL. */
  readonly includingParentRoles: Map<string, ReadonlySet<string>>
  /** Consulted policy keys (joined with NUL) → policy key → source file, for the audit trail. */
  readonly effectivePolicies: Map<string, Readonly<Record<string, string>>>
}

/** What a check needs about the principal side, cached per (principal, kind, versions, scope). */
export interface PrincipalPlan {
  readonly principalScopes: readonly string[]
  readonly principalKey: string
  readonly scopedPrincipalExists: boolean
  /** Principal-row query results: scope → action → role → rows. */
  readonly queries: QueryCache
}

