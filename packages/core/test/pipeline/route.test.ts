import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.js'
import { checkAuthenticateOptions, compileRoute } from '../../src/pipeline/route.js'

describe('compileRoute', () => {
  it('returns the settings frozen, and the same object when given it again', () => {
    const loader = () => ({ kind: 'review', id: '1' })
    const route = compileRoute({ resource: loader, action: 'read', actor: 'required' })
    expect(Object.isFrozen(route)).toBe(true)
    expect(route).toEqual({ resource: loader, action: 'read', actor: 'required' })
    expect(compileRoute(route)).toBe(route)
  })

  it('names the bad setting and where the route was declared', () => {
    const cases: [unknown, string][] = [
      [null, 'GET /x'],
      [{ action: 'read' }, 'GET /x.resource'],
      [{ resource: '', action: 'read' }, 'GET /x.resource'],
      [{ resource: 'review' }, 'GET /x.action'],
      [{ resource: 'review', action: 7 }, 'GET /x.action'],
      [{ resource: 'review', action: 'read', actor: 'sometimes' }, 'GET /x.actor'],
      [{ resource: 'review', action: 'read', actors: 'required' }, 'GET /x.actors'],
    ]
    for (const [route, option] of cases) {
      let error: unknown
      try {
        compileRoute(route as never, 'GET /x')
      } catch (err) {
        error = err
      }
      expect(error, option).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).option).toBe(option)
    }
  })

  it('checks authentication options', () => {
    expect(() => checkAuthenticateOptions({ actor: 'required' })).not.toThrow()
    expect(() => checkAuthenticateOptions(undefined)).not.toThrow()
    expect(() => checkAuthenticateOptions({ actor: 'x' as never })).toThrow(ConfigError)
  })
})
