/**
 * Core must stay usable without its optional peers: importing core never loads @cerbos/grpc or
 * @opentelemetry/api-logs, and using a feature that needs a missing one fails closed with a clear error.
 */
import { describe, expect, it, vi } from 'vitest'

vi.mock('@cerbos/grpc', () => {
  throw new Error("Cannot find package '@cerbos/grpc'")
})
vi.mock('@opentelemetry/api-logs', () => {
  throw new Error("Cannot find package '@opentelemetry/api-logs'")
})

const { RemoteEngine } = await import('../../src/remote/index.js')
const { createAuditLog, otelLogsSink } = await import('../../src/audit/index.js')
const { ConfigError } = await import('../../src/errors.js')

describe('without optional peer dependencies', () => {
  it('RemoteEngine fails closed with a ConfigError naming @cerbos/grpc', async () => {
    const engine = new RemoteEngine({ address: '127.0.0.1:1' })
    const check = engine.checkResources({
      principal: { id: 'p', roles: ['r'] },
      resources: [{ resource: { kind: 'k', id: 'i' }, actions: ['a'] }],
    })
    await expect(check).rejects.toBeInstanceOf(ConfigError)
    await expect(check).rejects.toThrow(/@cerbos\/grpc/)
  })

  it('the OTel logs sink reports a sink failure instead of throwing into the request path', async () => {
    const errors: unknown[] = []
    const log = createAuditLog({ sinks: [otelLogsSink()], onSinkError: (e) => errors.push(e) })
    expect(log.record({ kind: 'decision', callId: 'c', timestamp: 't', service: 's', outcome: 'allowed' })).toBe(true)
    await log.flush()
    expect(String(errors[0])).toMatch(/@opentelemetry\/api-logs/)
    expect(log.health().failingSinks).toEqual(['otel-logs'])
  })
})
