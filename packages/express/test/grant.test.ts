/** Where `req.meshguard` lives: readable everywhere after the middleware, assignable, and never lost. */
import { callerContext } from '@meshguard/core'
import express, { type NextFunction, type Request, type Response } from 'express'
import type { Server } from 'node:http'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGuardFixture, type GuardFixture } from '../../../test/adapters/guard-fixture.js'
import { closeServer, urlOf } from '../../../test/adapters/drivers.js'
import { authenticate, authorize } from '../src/index.js'

let fixture: GuardFixture
let server: Server | undefined
let url: string
let nestedServer: Server | undefined
let nestedUrl: string

const report = (req: Request, res: Response): void => {
  res.json({
    workload: req.meshguard?.caller.principal.id ?? null,
    decision: req.meshguard?.decision?.action ?? null,
    own: Object.hasOwn(req, 'meshguard'),
  })
}

beforeAll(async () => {
  fixture = await createGuardFixture()
  const app = express()
  // A sub-app authenticates and passes on: the parent's next route runs after Express has put the
  // parent's request prototype back, and must still see the grant. The parent (its own server)
  // never runs meshguard itself, so nothing of ours has seen its request prototype.
  const parent = express()
  const sub = express()
  sub.use(authenticate(fixture.guard))
  sub.get('/inside', report)
  parent.use('/sub', sub)
  parent.get('/sub/after', report)
  app.get(
    '/cleared/:id',
    authorize(fixture.guard, { resource: 'review', action: 'read' }),
    (req: Request, _res: Response, next: NextFunction) => {
      req.meshguard = undefined
      next()
    },
    report,
  )
  app.get(
    '/replaced/:id',
    authorize(fixture.guard, { resource: 'review', action: 'read' }),
    (req: Request, _res: Response, next: NextFunction) => {
      const grant = req.meshguard
      if (grant !== undefined) req.meshguard = { caller: grant.caller, decision: null, check: grant.check.bind(grant) }
      next()
    },
    report,
  )
  app.get('/reviews/:id', authorize(fixture.guard, { resource: 'review', action: 'read' }), report)
  server = await new Promise<Server>((resolve) => {
    const s: Server = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  url = urlOf(server)
  nestedServer = await new Promise<Server>((resolve) => {
    const s: Server = parent.listen(0, '127.0.0.1', () => resolve(s))
  })
  nestedUrl = urlOf(nestedServer)
})

afterAll(async () => {
  if (server) await closeServer(server)
  if (nestedServer) await closeServer(nestedServer)
  await fixture.audit.close()
})

const get = async (path: string, headers: Record<string, string>, base = url) => {
  const res = await request(`${base}${path}`, { headers })
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

const EMPLOYEE_SERVICE = 'spiffe://example.org/ns/default/sa/employee-service'

describe('@meshguard/express req.meshguard', () => {
  it('is set without adding a property to the Express request', async () => {
    const res = await get('/reviews/r-eng', await fixture.headers('hana'))
    expect(res).toEqual({ status: 200, body: { workload: EMPLOYEE_SERVICE, decision: 'read', own: false } })
  })

  it('reads the same inside a sub-app and in the parent app after it', async () => {
    const headers = await fixture.headers()
    expect((await get('/sub/inside', headers, nestedUrl)).body).toEqual({ workload: EMPLOYEE_SERVICE, decision: null, own: false })
    expect((await get('/sub/after', headers, nestedUrl)).body).toEqual({ workload: EMPLOYEE_SERVICE, decision: null, own: false })
  })

  it('takes an assignment by the application', async () => {
    const headers = await fixture.headers('hana')
    expect((await get('/cleared/r-eng', headers)).body).toEqual({ workload: null, decision: null, own: false })
    expect((await get('/replaced/r-eng', headers)).body).toEqual({ workload: EMPLOYEE_SERVICE, decision: null, own: false })
  })

  it('falls back to a plain property on a request that is not Express-shaped', async () => {
    const headers = await fixture.headers()
    const rawHeaders = Object.entries(headers).flat()
    const req = { method: 'GET', headers, rawHeaders, params: {}, baseUrl: '' } as unknown as Request
    // Never written to: the middleware only needs an object in the response position.
    const res = {} as unknown as Response
    let inContext = false
    await new Promise<void>((resolve, reject) => {
      authenticate(fixture.guard)(req, res, (err?: unknown) => {
        if (err !== undefined) reject(err instanceof Error ? err : new Error('next() was called with a non-Error', { cause: err }))
        inContext = callerContext.current() === req.meshguard?.caller
        resolve()
      })
    })
    expect(Object.hasOwn(req, 'meshguard')).toBe(true)
    expect(req.meshguard?.caller.principal.id).toBe(EMPLOYEE_SERVICE)
    expect(inContext).toBe(true)
  })
})
