// Checks the BUILT packages the way users get them: imported by name (ESM), loaded with require()
// (Node 20.19+ require(esm)), and sealed against deep imports by the exports map.
// The root `pnpm test` runs `tsc -b` first, so dist/ is fresh here.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const packages = ['core', 'express', 'fastify', 'nestjs', 'client', 'kysely', 'txn-token-service'] as const

function node(code: string, type: 'module' | 'commonjs'): string {
  const flag = type === 'module' ? '--input-type=module' : '--input-type=commonjs'
  return execFileSync(process.execPath, [flag, '-e', code], { cwd: root, encoding: 'utf8' })
}

describe.each(packages)('@meshguard/%s (built)', (name) => {
  it('has been built', () => {
    expect(existsSync(`${root}/packages/${name}/dist/index.js`)).toBe(true)
    expect(existsSync(`${root}/packages/${name}/dist/index.d.ts`)).toBe(true)
  })

  it('imports by name as ESM and exports something', () => {
    const out = node(`const m = await import('@meshguard/${name}'); console.log(JSON.stringify(Object.keys(m).sort()))`, 'module')
    const keys = JSON.parse(out) as string[]
    expect(keys.length).toBeGreaterThan(0)
  })

  it('loads with require() (no top-level await anywhere in the graph)', () => {
    const out = node(`const m = require('@meshguard/${name}'); console.log(Object.keys(m).length)`, 'commonjs')
    expect(Number(out.trim())).toBeGreaterThan(0)
  })

  it('refuses deep imports', () => {
    expect(() => node(`await import('@meshguard/${name}/dist/index.js')`, 'module')).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED|not exported/)
  })
})

describe('@meshguard/core public surface', () => {
  it('exports the entry points the docs name', () => {
    const out = node(`const m = await import('@meshguard/core'); console.log(JSON.stringify(Object.keys(m)))`, 'module')
    const keys = new Set(JSON.parse(out) as string[])
    for (const name of ['EmbeddedEngine', 'compileCel', 'createIdentityVerifier', 'createWorkloadIdentity', 'callerContext', 'createGuard', 'createMeshguard', 'MeshguardError', 'PolicyError', 'IdentityError']) {
      expect(keys.has(name), name).toBe(true)
    }
  })

  it.each([
    ['node', 'watchPolicies'],
    ['remote', 'RemoteEngine'],
    ['adapter', 'decideRequest'],
    ['testing', 'runPolicyTests'],
    ['telemetry', 'ATTR_AUTHZ_DECISION'],
    ['txn-tokens', 'createTxnTokenExchange'],
    ['edge', 'createEdgeVerifier'],
    ['wimse', 'witIssuerSource'],
  ])('serves the subpath @meshguard/core/%s (built, ESM and require)', (subpath, name) => {
    const esm = node(`const m = await import('@meshguard/core/${subpath}'); console.log(typeof m.${name})`, 'module')
    expect(esm.trim()).not.toBe('undefined')
    const cjs = node(`const m = require('@meshguard/core/${subpath}'); console.log(typeof m.${name})`, 'commonjs')
    expect(cjs.trim()).not.toBe('undefined')
  })
})
