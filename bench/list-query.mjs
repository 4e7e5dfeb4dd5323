// The end-to-end list query, for 10k reviews in Postgres (PGlite, in-process), two ways:
//   plan + SQL: one PlanResources for the caller, turned into the query's WHERE by planToSql, so the
//               database returns only the rows the policy allows;
//   fetch all:  every row fetched, then one checkResources per row in memory (what a service does
//               without query plans).
// Both answer the same rows (checked here); each figure is the median of LIST_ROUNDS runs.
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { planPredicate } from '../packages/core/dist/index.js'
import { planToSql } from '../packages/kysely/dist/index.js'

const ROWS = 10_000
const DEPARTMENTS = ['engineering', 'sales', 'people', 'finance', 'legal', 'marketing', 'support', 'design', 'data', 'security']
const LIST_ROUNDS = Number(process.env.BENCH_LIST_ROUNDS ?? 15)
const COLUMNS = { columns: { department: { column: 'department', type: 'string' }, employee: { column: 'employee', type: 'string' } } }

/** A manager of engineering, acting through employee-service (the seed policy's conditional plan). */
const PRINCIPAL = {
  id: 'spiffe://meshguard.example/ns/hr/sa/employee-service',
  roles: ['employee-service'],
  attr: { act: { user: { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' } } } },
}

function kyselyOver(pg) {
  const client = {
    query: async (text, params) => {
      const result = await pg.query(text, [...params])
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, command: 'SELECT' }
    },
    release: () => undefined,
  }
  return new Kysely({ dialect: new PostgresDialect({ pool: { connect: async () => client, end: async () => undefined } }) })
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function timed(run) {
  for (let i = 0; i < 3; i++) await run()
  const samples = []
  for (let i = 0; i < LIST_ROUNDS; i++) {
    const start = process.hrtime.bigint()
    await run()
    samples.push(Number(process.hrtime.bigint() - start))
  }
  return median(samples)
}

const ms = (ns) => `${(ns / 1e6).toFixed(2)} ms`

/**
 * Runs the list-query comparison on the seed policy's engine and prints the figures.
 * @param {import('../packages/core/dist/index.js').EmbeddedEngine} engine  loaded with examples/policies
 */
export async function benchListQuery(engine) {
  const pg = await PGlite.create()
  const db = kyselyOver(pg)
  try {
    await sql`CREATE TABLE reviews (id text PRIMARY KEY, employee text NOT NULL, department text NOT NULL, rating integer NOT NULL, summary text NOT NULL)`.execute(db)
    await sql`CREATE INDEX reviews_department ON reviews (department)`.execute(db)
    const rows = Array.from({ length: ROWS }, (_, i) => ({
      id: `rv-${String(i).padStart(5, '0')}`,
      employee: `user-${i % 997}`,
      department: DEPARTMENTS[i % DEPARTMENTS.length],
      rating: 1 + (i % 5),
      summary: `Review ${i}: a paragraph of text about the year.`,
    }))
    for (let i = 0; i < rows.length; i += 1000) await db.insertInto('reviews').values(rows.slice(i, i + 1000)).execute()
    await sql`ANALYZE reviews`.execute(db)

    const planAndSql = async () => {
      const plan = engine.planResourcesSync({ principal: PRINCIPAL, resource: { kind: 'review' }, actions: ['read'] })
      return db.selectFrom('reviews').selectAll().where(planToSql(plan, COLUMNS)).orderBy('id').execute()
    }
    const fetchAllAndCheck = async () => {
      const all = await db.selectFrom('reviews').selectAll().orderBy('id').execute()
      return all.filter((row) => {
        const response = engine.checkResourcesSync({
          principal: PRINCIPAL,
          resources: [{ resource: { kind: 'review', id: row.id, attr: { department: row.department, employee: row.employee } }, actions: ['read'] }],
        })
        return response.results[0]?.actions['read'] === 'EFFECT_ALLOW'
      })
    }
    const fetchAllAndPredicate = async () => {
      const all = await db.selectFrom('reviews').selectAll().orderBy('id').execute()
      const keep = planPredicate(engine.planResourcesSync({ principal: PRINCIPAL, resource: { kind: 'review' }, actions: ['read'] }))
      return all.filter((row) => keep({ id: row.id, attr: { department: row.department, employee: row.employee } }))
    }

    // The same rows every way, or the comparison means nothing.
    const ids = async (run) => (await run()).map((r) => r.id).join(',')
    const expected = await ids(planAndSql)
    const agree = expected === (await ids(fetchAllAndCheck)) && expected === (await ids(fetchAllAndPredicate))
    const kept = (await planAndSql()).length

    const sqlNs = await timed(planAndSql)
    const checkNs = await timed(fetchAllAndCheck)
    const predicateNs = await timed(fetchAllAndPredicate)
    console.log(`\nList query, ${ROWS.toLocaleString('en-US')} reviews in PGlite, a manager who may read ${kept.toLocaleString('en-US')} of them (median of ${LIST_ROUNDS} runs)\n`)
    console.log(`plan + SQL (planResources, planToSql, one query):      ${ms(sqlNs)}`)
    console.log(`fetch all rows + checkResources per row in memory:     ${ms(checkNs)} (${(checkNs / sqlNs).toFixed(1)}× the plan + SQL time)`)
    console.log(`fetch all rows + planPredicate in memory:              ${ms(predicateNs)} (${(predicateNs / sqlNs).toFixed(1)}×)`)
    console.log(`same rows every way: ${agree ? 'yes' : 'NO'}`)
    if (!agree) console.log('WARNING: the plan-filtered query and the per-row checks return different rows.')
  } finally {
    await db.destroy()
    await pg.close()
  }
}
