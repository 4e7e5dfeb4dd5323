/**
 * planToSql on a real Postgres (PGlite, in-process): for random rows (nulls included) and random
 * principals, the rows a plan's SQL selects are exactly the rows the in-memory predicate keeps, and
 * exactly the rows checkResources allows wherever the check met no CEL error (elsewhere never more).
 * Every operator the planner emits for these policies is exercised: eq/ne (null-safe), ordering,
 * `in` lists and array columns, startsWith/endsWith/contains, nested and/or/not.
 */
import fc from 'fast-check'
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, EmbeddedEngine, PlanOperatorError, planPredicate, type PlanFilter, type Principal } from '@meshguard/core'
import { planToSql, type PlanSqlOptions } from '@meshguard/kysely'
import { openPglite } from './support/pglite.js'

const POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: doc
  rules:
    - actions: [read]
      roles: [employee]
      effect: EFFECT_ALLOW
      condition:
        match:
          any:
            of:
              - expr: R.attr.department == P.attr.department
              - expr: R.attr.public == true
    - actions: [read]
      roles: [employee]
      effect: EFFECT_DENY
      condition:
        match:
          expr: R.attr.archived
    - actions: [edit]
      roles: [employee]
      effect: EFFECT_ALLOW
      condition:
        match:
          all:
            of:
              - expr: R.attr.owner == P.id
              - expr: R.attr.score < P.attr.limit
              - expr: R.attr.title.startsWith("draft")
    - actions: [tagged]
      roles: [employee]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: P.attr.tag in R.attr.tags || R.attr.department in P.attr.departments
    - actions: [review]
      roles: [manager]
      effect: EFFECT_ALLOW
      condition:
        match:
          none:
            of:
              - expr: R.attr.score >= 50.0
              - expr: R.attr.owner == null
    - actions: [rank]
      roles: [employee, manager]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: R.attr.score > 10.0 && R.attr.score <= P.attr.limit && R.attr.title != "x"
    - actions: [words]
      roles: [employee]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: R.attr.title.contains(P.attr.tag) || R.attr.title.endsWith("!") || R.attr.title > "m"
    - actions: [same]
      roles: [employee]
      effect: EFFECT_ALLOW
      condition:
        match:
          expr: R.attr.owner != R.attr.department && R.id != "d0"
    - actions: ["*"]
      roles: [admin]
      effect: EFFECT_ALLOW
`

const COLUMNS: PlanSqlOptions = {
  columns: {
    department: { column: 'department', type: 'string' },
    public: { column: 'public', type: 'boolean' },
    archived: { column: 'archived', type: 'boolean' },
    owner: { column: 'owner', type: 'string' },
    score: { column: 'score', type: 'number' },
    title: { column: 'title', type: 'string' },
    tags: { column: 'tags', type: 'string[]' },
  },
  id: { column: 'id', type: 'string' },
}

interface DocRow {
  id: string
  department: string | null
  public: boolean
  archived: boolean
  owner: string | null
  score: number | null
  title: string | null
  tags: string[] | null
}

const ACTIONS = ['read', 'edit', 'tagged', 'review', 'rank', 'words', 'same']
const words = fc.constantFrom('hr', 'eng', 'alice', 'bob', 'draft-1', 'x', 'zeta', 'Hello!', 'ünï', 'm')
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { freq: 4, nil: null })

const rowArb = (i: number): fc.Arbitrary<DocRow> =>
  fc.record({
    id: fc.constant(`d${i}`),
    department: maybe(fc.constantFrom('hr', 'eng', 'ops')),
    public: fc.boolean(),
    archived: fc.boolean(),
    owner: maybe(fc.constantFrom('alice', 'bob', 'hr')),
    score: maybe(fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double({ min: -10, max: 100, noNaN: true }))),
    title: maybe(words),
    tags: maybe(fc.array(words, { maxLength: 3 })),
  })

const principalArb: fc.Arbitrary<Principal> = fc.record({
  id: fc.constantFrom('alice', 'bob'),
  roles: fc.uniqueArray(fc.constantFrom('employee', 'manager', 'admin'), { minLength: 1, maxLength: 2 }),
  attr: fc.record({
    department: fc.constantFrom('hr', 'eng'),
    limit: fc.integer({ min: 0, max: 100 }),
    tag: words,
    departments: fc.array(fc.constantFrom('hr', 'eng', 'ops'), { maxLength: 2 }),
  }),
})

interface Tables {
  docs: DocRow
}

describe('planToSql on Postgres (PGlite)', () => {
  let db: Kysely<Tables>
  let close: () => Promise<void>
  const engine = EmbeddedEngine.fromSources([{ file: 'doc.yaml', text: POLICY }], { rememberDecisions: false })
  const rows = fc.sample(fc.tuple(...Array.from({ length: 60 }, (_, i) => rowArb(i))), { seed: 17, numRuns: 1 })[0]!

  beforeAll(async () => {
    ;({ db, close } = await openPglite<Tables>())
    await sql`CREATE TABLE docs (id text PRIMARY KEY, department text, public boolean NOT NULL, archived boolean NOT NULL, owner text, score double precision, title text, tags text[])`.execute(db)
    await db.insertInto('docs').values(rows).execute()
  })
  afterAll(async () => {
    await close()
  })

  const attrOf = (row: DocRow): Record<string, unknown> => ({ ...row, id: undefined })

  async function selectedIds(filter: PlanFilter): Promise<string[]> {
    const found = await db.selectFrom('docs').select('id').where(planToSql(filter, COLUMNS)).orderBy('id').execute()
    return found.map((r) => r.id).sort()
  }

  it('selects exactly what the predicate keeps and what the check allows', async () => {
    let conditional = 0
    let compared = 0
    const operators = new Set<string>()
    const collect = (op: unknown): void => {
      const e = (op as { expression?: { operator: string; operands: unknown[] } } | undefined)?.expression
      if (!e) return
      operators.add(e.operator)
      e.operands.forEach(collect)
    }
    await fc.assert(
      fc.asyncProperty(principalArb, fc.uniqueArray(fc.constantFrom(...ACTIONS), { minLength: 1, maxLength: 2 }), async (principal, actions) => {
        const plan = engine.planResourcesSync({ principal, resource: { kind: 'doc' }, actions })
        if (plan.filter.kind === 'KIND_CONDITIONAL') conditional++
        collect(plan.filter.condition)
        const bySql = await selectedIds(plan.filter)
        const keep = planPredicate(plan)
        const byPredicate = rows.filter((r) => keep({ kind: 'doc', id: r.id, attr: attrOf(r) })).map((r) => r.id).sort()
        expect(bySql, JSON.stringify(plan.filter)).toEqual(byPredicate)
        for (const row of rows) {
          const [out] = engine.checkInputs([{ principal, resource: { kind: 'doc', id: row.id, attr: attrOf(row) }, actions }])
          const allowed = Object.values(out!.actions).every((a) => a.effect === 'EFFECT_ALLOW')
          const selected = bySql.includes(row.id)
          compared++
          if (out!.evaluationErrors.length === 0) expect(selected, `${row.id} ${JSON.stringify(plan.filter)}`).toBe(allowed)
          else if (selected) expect(allowed, `${row.id} selected but denied`).toBe(true)
        }
      }),
      { seed: 20_261_207, numRuns: 120 },
    )
    expect(conditional).toBeGreaterThan(20)
    expect(compared).toBeGreaterThan(0)
    // Every operator the planner emits for these policies went through the database.
    expect([...operators].sort()).toEqual(['and', 'contains', 'endsWith', 'eq', 'ge', 'gt', 'in', 'le', 'lt', 'ne', 'not', 'or', 'startsWith'])
  })

  it('maps always-allowed and always-denied plans to TRUE and FALSE', async () => {
    expect(await selectedIds({ kind: 'KIND_ALWAYS_ALLOWED' })).toHaveLength(rows.length)
    expect(await selectedIds({ kind: 'KIND_ALWAYS_DENIED' })).toEqual([])
  })

  it('refuses operators it cannot express exactly, naming the operator', () => {
    const filter: PlanFilter = {
      kind: 'KIND_CONDITIONAL',
      condition: { expression: { operator: 'eq', operands: [{ expression: { operator: 'size', operands: [{ variable: 'request.resource.attr.tags' }] } }, { value: 2 }] } },
    }
    expect(() => planToSql(filter, COLUMNS)).toThrow(PlanOperatorError)
    try {
      planToSql({ kind: 'KIND_CONDITIONAL', condition: { expression: { operator: 'hasIntersection', operands: [{ variable: 'request.resource.attr.tags' }, { value: ['a'] }] } } }, COLUMNS)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(PlanOperatorError)
      expect((err as PlanOperatorError).operator).toBe('hasIntersection')
      expect((err as PlanOperatorError).reason).toBe('unsupported_operator')
    }
  })

  it('refuses an attribute that has no column', () => {
    const filter: PlanFilter = { kind: 'KIND_CONDITIONAL', condition: { expression: { operator: 'eq', operands: [{ variable: 'request.resource.attr.nope' }, { value: 1 }] } } }
    expect(() => planToSql(filter, COLUMNS)).toThrow(ConfigError)
  })
})
