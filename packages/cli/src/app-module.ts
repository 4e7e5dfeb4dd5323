/**
 * Loads a user's module that exports a web application (an Express app or router, a Fastify
 * instance, a Nest application, or a function returning one), tells which framework it is, and
 * imports that adapter's `/testing` entry point from where the user's module would import it.
 */
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '@meshguard/core'
import type { RouteRequirement } from '@meshguard/core/adapter'

/** The frameworks the adapters cover. */
export type Framework = 'express' | 'fastify' | 'nestjs'

/** What the CLI reads from an adapter's `/testing` entry point. */
interface AdapterTesting {
  listRoutes(app: unknown): RouteRequirement[]
}

/** An application found in a module, with its adapter's route lister and how to let it go. */
export interface LoadedApp {
  readonly framework: Framework
  routes(): RouteRequirement[]
  close(): Promise<void>
}

type Loose = Record<string, unknown>

const isFunction = (value: unknown, name: string): boolean => typeof (value as Loose)[name] === 'function'

/** Which framework made `value`, if any. The checks read only methods each framework's app object has. */
export function frameworkOf(value: unknown): Framework | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined
  // Express apps and routers are request-handler functions with `use` and `handle`.
  if (typeof value === 'function' && isFunction(value, 'use') && isFunction(value, 'handle')) return 'express'
  if (isFunction(value, 'register') && isFunction(value, 'ready') && isFunction(value, 'inject')) return 'fastify'
  if (isFunction(value, 'get') && isFunction(value, 'select') && isFunction(value, 'init')) return 'nestjs'
  return undefined
}

/** The export to read: `name` when given, else `default`, else `app`. */
function pickExport(module: Loose, name: string | undefined, file: string): unknown {
  const names = name === undefined ? ['default', 'app'] : [name]
  for (const candidate of names) if (Object.hasOwn(module, candidate)) return module[candidate]
  const available = Object.keys(module).join(', ') || 'none'
  throw new ConfigError('routes', `${file} has no export ${names.map((n) => JSON.stringify(n)).join(' or ')} (it exports: ${available})`)
}

/**
 * The adapter's testing entry point, resolved from the user's module: its own copy of the adapter
 * (another copy would not see what the app's copy recorded). The adapters are optional for the
 * CLI: a missing one is a clear error naming the package to install.
 */
async function adapterTesting(framework: Framework, moduleFile: string): Promise<AdapterTesting> {
  const specifier = `@meshguard/${framework}/testing`
  try {
    return (await import(pathToFileURL(createRequire(moduleFile).resolve(specifier)).href)) as AdapterTesting
  } catch (err) {
    throw new ConfigError('routes', `a ${framework} app needs the @meshguard/${framework} package beside it: npm install @meshguard/${framework}`, { cause: err })
  }
}

/**
 * Imports `file` (relative to the working directory), reads its export, calls it when it is a
 * factory (awaiting the result), and makes the app ready to be read: Fastify's `ready()`.
 *
 * @throws ConfigError when the file cannot be imported, has no such export, or the export is not an app
 */
export async function loadApp(file: string, exportName: string | undefined): Promise<LoadedApp> {
  const moduleFile = resolve(file)
  let module: Loose
  try {
    module = (await import(pathToFileURL(moduleFile).href)) as Loose
  } catch (err) {
    throw new ConfigError('routes', `cannot import ${file}: ${(err as Error).message}`, { cause: err })
  }
  let value = pickExport(module, exportName, file)
  let framework = frameworkOf(value)
  if (framework === undefined && typeof value === 'function') {
    value = await (value as () => unknown)()
    framework = frameworkOf(value)
  }
  if (framework === undefined) {
    throw new ConfigError('routes', `the export of ${file} is not an Express app or router, a Fastify instance or a Nest application (nor a function returning one)`)
  }
  const testing = await adapterTesting(framework, moduleFile)
  const app = value as Loose
  if (framework === 'fastify') await (app['ready'] as () => Promise<unknown>)()
  return {
    framework,
    routes: () => testing.listRoutes(app),
    // Express apps hold nothing until they listen; Fastify and Nest apps are closed (their hooks run).
    close: async () => {
      if (framework !== 'express') await (app['close'] as () => Promise<unknown>)()
    },
  }
}
