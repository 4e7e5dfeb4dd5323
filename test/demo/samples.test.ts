/**
 * Every sample service is a standalone, copyable package: its own package.json depending on
 * `@meshguard/*` through the workspace, a README, a `start(config)` export, and the meshguard
 * wiring imported from the one `@meshguard-examples/service-kit` package (so a fix there reaches all).
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as kit from '../../examples/service-kit/src/index.mjs'

const KIT = '@meshguard-examples/service-kit'
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

  it('service-kit is a private workspace package exporting the shared wiring', async () => {
    const pkg = JSON.parse(await read('service-kit/package.json')) as { name: string; private: boolean; exports: Record<string, string> }
    expect(pkg.name).toBe(KIT)
    expect(pkg.private).toBe(true)
    expect(pkg.exports['.']).toBe('./src/index.mjs')
    for (const [name, value] of Object.entries(kit)) expect(typeof value, name).toBe(name === 'DEFAULT_POLICY_DIR' ? 'string' : 'function')
    expect(Object.keys(kit).sort()).toEqual(['DEFAULT_POLICY_DIR', 'continueTrace', 'createServiceMeshguard', 'relay', 'serve', 'wimseIdentity'])
    expect(kit.DEFAULT_POLICY_DIR).toBe(fileURLToPath(new URL('../../examples/policies/', import.meta.url)))
  })

  it.each(SERVICES)('%s imports its wiring from service-kit and keeps no copy of it', async (name) => {
    const pkg = JSON.parse(await read(`${name}/package.json`)) as { dependencies: Record<string, string> }
    expect(pkg.dependencies[KIT]).toBe('workspace:*')
    expect(await read(`${name}/src/service.mjs`)).toMatch(new RegExp(`^import \\{[^}]+\\} from '${KIT}'$`, 'm'))
    expect(existsSync(new URL(`../../examples/${name}/src/meshguard.mjs`, import.meta.url))).toBe(false)
    // No service builds its own meshguard instance: that is the kit's job.
    for (const file of await readdir(new URL(`../../examples/${name}/src/`, import.meta.url))) {
      expect(await read(`${name}/src/${file}`), `${name}/src/${file}`).not.toMatch(/\bcreateMeshguard\(/)
    }
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
