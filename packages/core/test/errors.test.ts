import { describe, expect, it } from 'vitest'
import { DeniedError, IdentityError, MeshguardError, PolicyError, ERROR_HTTP_STATUS } from '../src/index.js'

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
    const foreign = Object.create({ [Symbol.for('@meshguard/error')]: true, [Symbol.for('@meshguard/error.ERR_AUTHZ_DENIED')]: true })
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
})
