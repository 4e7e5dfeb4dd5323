/** Small helpers for tests that expect a meshguard failure. */
import { expect } from 'vitest'
import { ConfigError, MeshguardError } from '../../packages/core/src/errors.js'

/** The MeshguardError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejectionOf(promise: Promise<unknown>): Promise<MeshguardError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(MeshguardError)
  return err as MeshguardError
}

/** The option path of the ConfigError `build` throws (fails the test if it throws none). */
export function configOptionOf(build: () => unknown): string {
  try {
    build()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).option
  }
  throw new Error('expected a ConfigError')
}
