/**
 * Every sample service is a standalone, copyable package: its own package.json depending on
 * `@meshguard/*` through the workspace, a README, a `start(config)` export, and the same
 * `src/meshguard.mjs` wiring as the others (so a fix to one reaches all).
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'

const SERVICES = ['gateway', 'employee-service', 'review-service', 'ai-reporting-agent', 'orders', 'payments']
const read = (path: string): Promise<string> => readFile(new URL(`../../examples/${path}`, import.meta.url), 'utf8')

describe('sample services', () => {
  it.each(SERVICES)('%s is a standalone package with a README and start(config)', async (name) => {
    const pkg = JSON.parse(await read(`${name}/package.json`)) as { name: string; private: boolean; exports: Record<string, string>; dependencies: Record<string, string> }
    expect(pkg.name).toBe(`@meshguard-examples/${name}`)
    expect(pkg.private).toBe(true)
    expect(pkg.dependencies['@meshguard/core']).toBe('workspace:*')
    expect(pkg.dependencies['@meshguard/client']).toBe('workspace:*')
    expect(await read(`${name}/README.md`)).toMatch(/^# /)
    const service = await read(`${name}/src/service.mjs`)
    expect(service).toMatch(/export async function start\(config\)/)
    expect(service).toMatch(/export const SERVICE_ID = 'spiffe:\/\/meshguard\.example\/ns\/[a-z]+\/sa\/[a-z-]+'/)
  })

  it('share one meshguard.mjs wiring', async () => {
    const copies = await Promise.all(SERVICES.map((name) => read(`${name}/src/meshguard.mjs`)))
    for (const [i, copy] of copies.entries()) expect(copy, SERVICES[i]).toBe(copies[0])
  })

  it('use the adapter of their framework', async () => {
    const adapters: Record<string, string> = {
      'employee-service': '@meshguard/express',
      orders: '@meshguard/express',
      'review-service': '@meshguard/fastify',
      payments: '@meshguard/fastify',
      'ai-reporting-agent': '@meshguard/nestjs',
    }
    for (const [name, adapter] of Object.entries(adapters)) {
      expect(await read(`${name}/src/service.mjs`), name).toContain(`from '${adapter}'`)
    }
  })
})
