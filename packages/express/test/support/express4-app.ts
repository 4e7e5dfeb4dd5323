/** The cross-adapter contract app on Express 4 (the adapter supports Express 4.21+ and 5). */
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the alias module has no types of its own, and tsconfigs that reach this file from other folders need the reference
/// <reference path="./express4.d.ts" />
import type { Guard } from '@meshguard/core'
import express4 from 'express4'
import { startExpressApp } from '../../../../test/adapters/express-app.js'
import type { RunningApp } from '../../../../test/adapters/drivers.js'

/** Starts the contract app on Express 4 (127.0.0.1, OS-chosen port). */
export function startExpress4App(guard: Guard): Promise<RunningApp> {
  return startExpressApp(guard, express4)
}

/** The version actually loaded, so the test can prove it ran on 4.x. */
export { default as express4Package } from 'express4/package.json' with { type: 'json' }

/** The Express 4 export itself, for tests elsewhere that build their own Express 4 apps. */
export { default as express4 } from 'express4'
