/**
 * `meshguard routes MODULE`: the route table of a live app (Express, Fastify or Nest) exported by a
 * module: each route's method, path, guard, resource, action, actor and scope. With
 * `--fail-unguarded` it exits 1 when a route has no policy check and no public marker, for CI.
 */
import { parseArgs } from 'node:util'
import { formatRouteTable, unguardedRoutes, type RouteRequirement } from '@meshguard/core/adapter'
import { loadApp } from './app-module.js'
import { write, UsageError, type CliIo } from './io.js'

/** One line per route no policy decides about. */
function describeUnguarded(routes: readonly RouteRequirement[]): string {
  return routes.map((r) => `  ${r.method} ${r.path} (${r.guard})\n`).join('')
}

/** Runs `meshguard routes`; resolves to the exit code (1 with `--fail-unguarded` and an unguarded route). */
export async function runRoutes(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { export: { type: 'string' }, json: { type: 'boolean' }, 'fail-unguarded': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  })
  const [file, ...extra] = positionals
  if (file === undefined || extra.length > 0) throw new UsageError('routes: give one MODULE (a file exporting the app)')
  const app = await loadApp(file, values.export)
  let routes: RouteRequirement[]
  try {
    routes = app.routes()
  } finally {
    await app.close()
  }
  const unguarded = unguardedRoutes(routes)
  if (values.json === true) {
    await write(io.stdout, `${JSON.stringify({ framework: app.framework, routes, unguarded: unguarded.length }, null, 2)}\n`)
  } else {
    await write(io.stdout, formatRouteTable(routes))
    await write(io.stdout, `\n${routes.length} route(s) (${app.framework}), ${unguarded.length} without a policy check or a public marker\n`)
  }
  if (values['fail-unguarded'] === true && unguarded.length > 0) {
    await write(io.stderr, `meshguard routes: ${unguarded.length} route(s) without a policy check or a public marker:\n${describeUnguarded(unguarded)}`)
    return 1
  }
  return 0
}
