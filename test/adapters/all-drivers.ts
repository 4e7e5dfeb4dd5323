/** Every adapter app the cross-adapter suites run against, by name. */
import type { Guard } from '@meshguard/core'
import { startExpress4App } from '../../packages/express/test/support/express4-app.js'
import { startNestApp } from '../../packages/nestjs/test/support/contract-app.js'
import type { RunningApp } from './drivers.js'
import { startExpressApp } from './express-app.js'
import { startFastifyApp } from './fastify-app.js'

/** Express 5, Express 4, Fastify, and Nest on both its platforms, each over one given guard. */
export const ADAPTER_DRIVERS: Readonly<Record<string, (guard: Guard) => Promise<RunningApp>>> = {
  express: (guard) => startExpressApp(guard),
  'express 4': startExpress4App,
  fastify: startFastifyApp,
  'nest (express)': (guard) => startNestApp(guard, 'express'),
  'nest (fastify)': (guard) => startNestApp(guard, 'fastify'),
}

/** Starts every adapter app over `guard`. */
export async function startAllAdapters(guard: Guard): Promise<Map<string, RunningApp>> {
  const apps = new Map<string, RunningApp>()
  for (const [name, start] of Object.entries(ADAPTER_DRIVERS)) apps.set(name, await start(guard))
  return apps
}
