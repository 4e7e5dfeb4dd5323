// Public API of @meshguard/kysely: named exports only.
/**
 * Query plans (`engine.planResources(...)`) as Kysely WHERE conditions for Postgres, with CEL's
 * semantics for nulls and mixed types; see {@link planToSql}.
 */
export { planToSql } from './plan-to-sql.js'
export type { PlanColumn, PlanColumnType, PlanSqlOptions } from './plan-to-sql.js'
