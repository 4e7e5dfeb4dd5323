/**
 * review-service's database: the reviews in Postgres (PGlite, in-process), read through Kysely. A list
 * query takes the caller's query plan as its WHERE condition (`planToSql`), so the database returns
 * only the rows the policy allows: nothing is fetched to be thrown away.
 */
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { planToSql } from '@meshguard/kysely'
import { REVIEWS } from './reviews.mjs'

/**
 * The resource attributes the review policy reads, and their columns.
 * @type {import('@meshguard/kysely').PlanSqlOptions}
 */
export const REVIEW_COLUMNS = {
  columns: {
    department: { column: 'department', type: 'string' },
    employee: { column: 'employee', type: 'string' },
  },
  id: { column: 'id', type: 'string' },
}

/**
 * @typedef {{ reviews: import('./reviews.mjs').Review }} Database
 * @typedef {object} ReviewStore
 * @property {(id: string) => Promise<import('./reviews.mjs').Review | undefined>} byId
 * @property {(plan: { filter: import('@meshguard/core').PlanFilter }) => Promise<import('./reviews.mjs').Review[]>} list  the reviews a plan allows
 * @property {() => Promise<void>} close
 */

/**
 * A Kysely over a PGlite database: Kysely's Postgres dialect with a one-client "pool".
 * @param {PGlite} pg
 * @returns {Kysely<Database>}
 */
export function kyselyOver(pg) {
  const client = {
    query: async (/** @type {string} */ text, /** @type {readonly unknown[]} */ params) => {
      const result = await pg.query(text, [...params])
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, command: 'SELECT' }
    },
    release: () => undefined,
  }
  const pool = { connect: async () => client, end: async () => undefined }
  return new Kysely({ dialect: new PostgresDialect({ pool: /** @type {any} */ (pool) }) })
}

/**
 * Opens the review database and loads the sample reviews.
 * @returns {Promise<ReviewStore>}
 */
export async function openReviewStore() {
  const pg = await PGlite.create()
  const db = kyselyOver(pg)
  await sql`CREATE TABLE reviews (id text PRIMARY KEY, employee text NOT NULL, department text NOT NULL, rating integer NOT NULL, summary text NOT NULL)`.execute(db)
  await db.insertInto('reviews').values([...REVIEWS.values()]).execute()
  return {
    byId: (id) => db.selectFrom('reviews').selectAll().where('id', '=', id).executeTakeFirst(),
    list: (plan) => db.selectFrom('reviews').selectAll().where(planToSql(plan, REVIEW_COLUMNS)).orderBy('id').execute(),
    close: async () => {
      await db.destroy()
      await pg.close()
    },
  }
}
