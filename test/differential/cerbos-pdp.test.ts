import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { startCerbosPdp, type CerbosPdp } from '../support/cerbos-pdp.js'

const STORE = fileURLToPath(new URL('../../conformance/cerbos/store', import.meta.url))

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('startCerbosPdp', () => {
  let pdp: CerbosPdp | undefined
  beforeAll(async () => {
    pdp = await startCerbosPdp({ policyDir: STORE, globals: { environment: 'test' } })
  })
  afterAll(async () => {
    await pdp?.stop()
  })

  it('serves CheckResources over HTTP on loopback', async () => {
    expect(pdp?.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(pdp?.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/)
    const response = await fetch(`${pdp?.httpUrl}/api/check/resources`, {
      method: 'POST',
      body: JSON.stringify({
        principal: { id: 'john', roles: ['employee'], policyVersion: '20210210', attr: { department: 'marketing', geography: 'GB', team: 'design' } },
        resources: [{ actions: ['view:public', 'approve'], resource: { kind: 'leave_request', id: 'XX125', policyVersion: '20210210', attr: { department: 'marketing', geography: 'GB', owner: 'john', team: 'design' } } }],
      }),
    })
    const body = (await response.json()) as { results: { actions: Record<string, string> }[] }
    expect(body.results[0]?.actions).toEqual({ 'view:public': 'EFFECT_ALLOW', approve: 'EFFECT_DENY' })
  })

  it('stop() kills the process group', async () => {
    const other = await startCerbosPdp({ policyDir: STORE })
    expect(isAlive(other.pid)).toBe(true)
    await other.stop()
    expect(isAlive(other.pid)).toBe(false)
    await other.stop()
  })

  it('reports a PDP that cannot start, with its log', async () => {
    await expect(startCerbosPdp({ policyDir: '/nonexistent/meshguard-policies', startupTimeoutMs: 5000 })).rejects.toThrow(/Cerbos PDP/)
  })
})
