import type { CelActivation } from '../../src/cel/index.js'

/** Builds an activation for tests; every part can be overridden. */
export function activation(overrides: {
  principal?: Partial<CelActivation['request']['principal']>
  resource?: Partial<CelActivation['request']['resource']>
  jwt?: Record<string, unknown>
  variables?: Record<string, unknown>
  constants?: Record<string, unknown>
  globals?: Record<string, unknown>
  effectiveDerivedRoles?: string[]
  now?: Date
} = {}): CelActivation {
  return {
    request: {
      principal: { id: 'alice', roles: ['user'], attr: {}, policyVersion: 'default', scope: '', ...overrides.principal },
      resource: { kind: 'doc', id: 'd1', attr: {}, policyVersion: 'default', scope: '', ...overrides.resource },
      auxData: { jwt: overrides.jwt ?? {} },
    },
    variables: overrides.variables ?? {},
    constants: overrides.constants ?? {},
    globals: overrides.globals ?? {},
    runtime: { effectiveDerivedRoles: overrides.effectiveDerivedRoles ?? [] },
    now: overrides.now ?? new Date('2021-04-22T15:05:20.021Z'),
  }
}
