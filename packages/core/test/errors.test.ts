import { describe, expect, it } from 'vitest'
import * as core from '../src/index.js'
import { DeniedError, IdentityError, MeshguardError, PolicyError, ERROR_HTTP_STATUS, toMeshguardError, type AnyMeshguardError } from '../src/index.js'

describe('error family', () => {
  it('brands each class separately', () => {
    const err = new IdentityError('aud_mismatch', 'token audience does not match this service')
    expect(err).toBeInstanceOf(MeshguardError)
    expect(err).toBeInstanceOf(IdentityError)
    expect(err instanceof DeniedError).toBe(false)
    expect(err.code).toBe('ERR_AUTHZ_IDENTITY_INVALID')
    expect(err.reason).toBe('aud_mismatch')
    expect(err.httpStatus).toBe(401)
    expect(err.name).toBe('IdentityError')
  })
  it('recognises an error built by another copy of the module through its brand', () => {
    const foreign: unknown = Object.create({ [Symbol.for('@meshguard/error')]: true, [Symbol.for('@meshguard/error.ERR_AUTHZ_DENIED')]: true })
    expect(foreign instanceof DeniedError).toBe(true)
    expect(foreign instanceof IdentityError).toBe(false)
  })
  it('policy errors carry every issue with file and line', () => {
    const err = new PolicyError([
      { file: 'a.yaml', line: 3, column: 5, message: 'bad' },
      { file: 'b.yaml', message: 'worse' },
    ])
    expect(err.message).toBe('a.yaml:3:5: bad (and 1 more)')
    expect(err.issues).toHaveLength(2)
  })
  it('maps every code to a status', () => {
    for (const status of Object.values(ERROR_HTTP_STATUS)) expect(status).toBeGreaterThanOrEqual(400)
  })
  it('every class names its code statically, and instances carry the same code', () => {
    const classes = Object.entries(core).filter(([, v]) => typeof v === 'function' && v !== MeshguardError && v.prototype instanceof MeshguardError)
    expect(classes.length).toBeGreaterThanOrEqual(14)
    const seen = new Set<string>()
    for (const [name, cls] of classes) {
      const code = (cls as unknown as { code?: string }).code
      expect(code, name).toMatch(/^ERR_AUTHZ_/)
      expect(Object.keys(ERROR_HTTP_STATUS), name).toContain(code)
      seen.add(code as string)
    }
    // Every code in the family has a class that carries it.
    expect([...seen].sort()).toEqual(Object.keys(ERROR_HTTP_STATUS).sort())
    expect(new core.ConfigError('x', 'y').code).toBe(core.ConfigError.code)
    expect(new core.PlanUnsupportedError().code).toBe(core.ConfigError.code)
    expect(new core.PlanOperatorError('op', 'm').code).toBe(core.ConditionError.code)
  })
  it('switching on code narrows to the class', () => {
    const describe = (err: AnyMeshguardError): string => {
      switch (err.code) {
        case 'ERR_AUTHZ_POLICY_INVALID':
          return `policy:${err.issues.length}`
        case 'ERR_AUTHZ_INVALID_CONFIG':
          return `config:${err.option}`
        default:
          return err.code
      }
    }
    expect(describe(toMeshguardError(new PolicyError([{ file: 'a.yaml', message: 'bad' }])))).toBe('policy:1')
    expect(describe(toMeshguardError(new core.ConfigError('identity.trust', 'bad')))).toBe('config:identity.trust')
    expect(describe(toMeshguardError(new Error('boom')))).toBe('ERR_AUTHZ_INTERNAL')
  })
})
