/**
 * A Kysely instance over an in-process Postgres (PGlite): Kysely's Postgres dialect with a one-client
 * "pool" that runs queries on the PGlite database.
 */
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect } from 'kysely'

/** Opens an in-memory Postgres and a Kysely over it; `close()` ends both. */
export async function openPglite<DB>(): Promise<{ db: Kysely<DB>; pg: PGlite; close: () => Promise<void> }> {
  const pg = await PGlite.create()
  const client = {
    query: async (text: string, params: readonly unknown[]) => {
      const result = await pg.query(text, [...params])
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, command: 'SELECT' }
    },
    release: () => undefined,
  }
  const pool = { connect: async () => client, end: async () => undefined }
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as never }) })
  return {
    db,
    pg,
    close: async () => {
      await db.destroy()
      await pg.close()
    },
  }
}
