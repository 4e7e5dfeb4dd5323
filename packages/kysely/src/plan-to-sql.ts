/**
 * A query plan's condition as one Postgres boolean expression (a Kysely `RawBuilder`), with CEL's
 * semantics kept: equality is null-safe and false across types (`IS NOT DISTINCT FROM`, or `FALSE`
 * when the value cannot be of the column's type), and a CEL evaluation error (ordering a null, a
 * non-boolean condition) becomes SQL `NULL`, which and/or/not treat as CEL treats an error and a
 * WHERE clause treats as false. Operators the translation cannot express exactly throw
 * {@link PlanOperatorError}: the filter is never widened or approximated.
 */
import { ConfigError, PlanOperatorError, type PlanFilter, type PlanOperand } from '@meshguard/core'
import { sql, type RawBuilder, type SqlBool } from 'kysely'

/** What a column holds. Array columns are Postgres arrays (`text[]`, `double precision[]`). */
export type PlanColumnType = 'string' | 'number' | 'boolean' | 'string[]' | 'number[]'

/** One resource attribute's column. */
export interface PlanColumn {
  /** Column name, optionally qualified (`reviews.department`). */
  column: string
  type: PlanColumnType
}

/** Options of {@link planToSql}. */
export interface PlanSqlOptions {
  /** Resource attribute name → column (`request.resource.attr.<name>`). */
  columns: Readonly<Record<string, PlanColumn>>
  /** The column of `request.resource.id`, if plans may read it. */
  id?: PlanColumn | undefined
}

type Sql = RawBuilder<SqlBool>

const TRUE: Sql = sql<SqlBool>`TRUE`
const FALSE: Sql = sql<SqlBool>`FALSE`
/** A CEL evaluation error: unknown, like SQL NULL. */
const ERROR: Sql = sql<SqlBool>`NULL::boolean`

const ATTR_PREFIX = 'request.resource.attr.'

type Side = { kind: 'column'; spec: PlanColumn } | { kind: 'value'; value: unknown }

/** The CEL kind of a JSON value, as a column type would hold it. */
function kindOf(value: unknown): 'string' | 'number' | 'boolean' | 'null' | 'list' | 'map' {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'list'
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return typeof value as 'string' | 'number' | 'boolean'
  return 'map'
}

const scalarOf = (type: PlanColumnType): string | undefined => (type.endsWith('[]') ? undefined : type)

class Translator {
  constructor(private readonly options: PlanSqlOptions) {}

  private column(variable: string): PlanColumn {
    if (variable === 'request.resource.id') {
      if (this.options.id) return this.options.id
      throw new ConfigError('id', 'the plan reads request.resource.id but no id column is mapped')
    }
    if (variable.startsWith(ATTR_PREFIX)) {
      const name = variable.slice(ATTR_PREFIX.length)
      if (Object.prototype.hasOwnProperty.call(this.options.columns, name)) return this.options.columns[name]!
      throw new ConfigError('columns', `the plan reads request.resource.attr.${name} but no column is mapped for it`)
    }
    throw new PlanOperatorError('variable', `the plan reads ${variable}, which is not a resource attribute`)
  }

  private side(op: PlanOperand, operator: string): Side {
    if ('variable' in op) return { kind: 'column', spec: this.column(op.variable) }
    if ('value' in op) return { kind: 'value', value: op.value }
    throw new PlanOperatorError(op.expression.operator, `${operator} over the result of ${op.expression.operator} cannot be written in SQL`)
  }

  translate(op: PlanOperand): Sql {
    if ('value' in op) return op.value === true ? TRUE : op.value === false ? FALSE : ERROR
    if ('variable' in op) {
      const spec = this.column(op.variable)
      // A non-boolean condition is not met (an error inside not/and/or).
      return spec.type === 'boolean' ? sql<SqlBool>`${sql.ref(spec.column)}` : ERROR
    }
    const { operator, operands } = op.expression
    switch (operator) {
      case 'and':
      case 'or':
        if (operands.length === 0) return operator === 'and' ? TRUE : FALSE
        return sql<SqlBool>`(${sql.join(operands.map((o) => this.translate(o)), operator === 'and' ? sql` AND ` : sql` OR `)})`
      case 'not':
        return sql<SqlBool>`(NOT ${this.translate(operands[0]!)})`
      case 'eq':
      case 'ne':
        return this.equality(operator, operands)
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
        return this.ordering(operator, operands)
      case 'in':
        return this.membership(operands)
      case 'startsWith':
      case 'endsWith':
      case 'contains':
        return this.stringTest(operator, operands)
      default:
        throw new PlanOperatorError(operator, `the plan operator ${JSON.stringify(operator)} cannot be written in SQL`)
    }
  }

  private pair(operator: string, operands: readonly PlanOperand[]): [Side, Side] {
    if (operands.length !== 2) throw new PlanOperatorError(operator, `${operator} needs two operands`)
    return [this.side(operands[0]!, operator), this.side(operands[1]!, operator)]
  }

  /** CEL `==`/`!=`: null-safe, false (true for `!=`) when the two sides cannot hold the same value. */
  private equality(operator: 'eq' | 'ne', operands: readonly PlanOperand[]): Sql {
    const [a, b] = this.pair(operator, operands)
    const eq = this.equal(a, b)
    if (eq === TRUE || eq === FALSE) return operator === 'eq' ? eq : eq === TRUE ? FALSE : TRUE
    return operator === 'eq' ? eq : sql<SqlBool>`(NOT ${eq})`
  }

  private equal(a: Side, b: Side): Sql {
    if (a.kind === 'value' && b.kind === 'value') return JSON.stringify(a.value) === JSON.stringify(b.value) ? TRUE : FALSE
    const [col, other] = a.kind === 'column' ? [a.spec, b] : [(b as { spec: PlanColumn }).spec, a]
    const ref = sql.ref(col.column)
    if (other.kind === 'column') {
      if (other.spec.type !== col.type) return sql<SqlBool>`(${ref} IS NULL AND ${sql.ref(other.spec.column)} IS NULL)`
      return sql<SqlBool>`(${ref} IS NOT DISTINCT FROM ${sql.ref(other.spec.column)})`
    }
    const kind = kindOf(other.value)
    if (kind === 'null') return sql<SqlBool>`(${ref} IS NULL)`
    if (col.type === kind) return sql<SqlBool>`(${ref} IS NOT DISTINCT FROM ${other.value})`
    if (kind === 'list' && col.type.endsWith('[]')) {
      const items = other.value as unknown[]
      if (!items.every((v) => kindOf(v) === col.type.slice(0, -2))) return FALSE
      return sql<SqlBool>`(${ref} IS NOT DISTINCT FROM ${sql`ARRAY[${sql.join(items.map((v) => sql`${v}`))}]`}::${sql.raw(col.type === 'string[]' ? 'text[]' : 'double precision[]')})`
    }
    // Values of different kinds are never equal in CEL.
    return FALSE
  }

  /** CEL ordering: an error (SQL NULL) across kinds or with a null; Postgres orders the rest as CEL does. */
  private ordering(operator: 'lt' | 'le' | 'gt' | 'ge', operands: readonly PlanOperand[]): Sql {
    const symbols = { lt: '<', le: '<=', gt: '>', ge: '>=' } as const
    const [a, b] = this.pair(operator, operands)
    const kinds = [a, b].map((s) => (s.kind === 'column' ? scalarOf(s.spec.type) : kindOf(s.value)))
    if (kinds[0] === undefined || kinds[0] !== kinds[1] || kinds[0] === 'null' || kinds[0] === 'list' || kinds[0] === 'map') return ERROR
    if (kinds[0] === 'string') {
      // CEL compares strings by code point; so does Postgres with the C collation.
      return sql<SqlBool>`(${this.operand(a)} COLLATE "C" ${sql.raw(symbols[operator])} ${this.operand(b)} COLLATE "C")`
    }
    return sql<SqlBool>`(${this.operand(a)} ${sql.raw(symbols[operator])} ${this.operand(b)})`
  }

  private operand(side: Side): RawBuilder<unknown> {
    return side.kind === 'column' ? sql`${sql.ref(side.spec.column)}` : sql`${side.value}`
  }

  /** `x in [values]` (one equality per value) and `value in array_column`. */
  private membership(operands: readonly PlanOperand[]): Sql {
    const [a, b] = this.pair('in', operands)
    if (b.kind === 'value') {
      if (!Array.isArray(b.value)) throw new PlanOperatorError('in', 'in over a map value cannot be written in SQL')
      if (b.value.length === 0) return FALSE
      return sql<SqlBool>`(${sql.join(b.value.map((v) => this.equal(a, { kind: 'value', value: v })), sql` OR `)})`
    }
    const list = b.spec
    const element = list.type.endsWith('[]') ? list.type.slice(0, -2) : undefined
    if (element === undefined) return ERROR
    const ref = sql.ref(list.column)
    if (a.kind === 'column') {
      if (a.spec.type !== element) return sql<SqlBool>`(CASE WHEN ${ref} IS NULL THEN NULL ELSE FALSE END)`
      return sql<SqlBool>`(CASE WHEN ${ref} IS NULL THEN NULL ELSE COALESCE(${sql.ref(a.spec.column)} = ANY(${ref}), FALSE) END)`
    }
    if (kindOf(a.value) !== element) return sql<SqlBool>`(CASE WHEN ${ref} IS NULL THEN NULL ELSE FALSE END)`
    return sql<SqlBool>`(CASE WHEN ${ref} IS NULL THEN NULL ELSE COALESCE(${a.value} = ANY(${ref}), FALSE) END)`
  }

  /** `startsWith`/`endsWith`/`contains` on a string column with a string value. */
  private stringTest(operator: 'startsWith' | 'endsWith' | 'contains', operands: readonly PlanOperand[]): Sql {
    const [a, b] = this.pair(operator, operands)
    const kinds = [a, b].map((s) => (s.kind === 'column' ? s.spec.type : kindOf(s.value)))
    if (kinds[0] !== 'string' || kinds[1] !== 'string') return ERROR
    const [x, y] = [this.operand(a), this.operand(b)]
    if (operator === 'startsWith') return sql<SqlBool>`starts_with(${x}, ${y})`
    if (operator === 'endsWith') return sql<SqlBool>`(right(${x}, length(${y})) = ${y})`
    return sql<SqlBool>`(strpos(${x}, ${y}) > 0)`
  }
}

/**
 * Turns a query plan into a Postgres WHERE condition for Kysely. `KIND_ALWAYS_ALLOWED` is `TRUE`,
 * `KIND_ALWAYS_DENIED` is `FALSE`.
 *
 * @example
 * ```ts
 * const plan = await engine.planResources({ principal, resource: { kind: 'review' }, actions: ['read'] })
 * const rows = await db.selectFrom('reviews').selectAll()
 *   .where(planToSql(plan, { columns: { department: { column: 'department', type: 'string' } } }))
 *   .execute()
 * ```
 * @param plan - the plan response, or its `filter`
 * @throws PlanOperatorError when the plan uses an operator SQL cannot express exactly
 * @throws ConfigError when the plan reads an attribute that has no column
 */
export function planToSql(plan: PlanFilter | { filter: PlanFilter }, options: PlanSqlOptions): RawBuilder<SqlBool> {
  const filter = 'filter' in plan ? plan.filter : plan
  if (filter.kind === 'KIND_ALWAYS_ALLOWED') return TRUE
  if (filter.kind !== 'KIND_CONDITIONAL' || filter.condition === undefined) return FALSE
  return new Translator(options).translate(filter.condition)
}
