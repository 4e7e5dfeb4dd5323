/** Checks of numeric options shared by the service and its WIT issuer. */
import { ConfigError } from '@meshguard/core'

/** `value` when it lies in [min, max], `fallback` when unset; otherwise a `ConfigError` naming `option`. */
export function bounded(value: number | undefined, fallback: number, min: number, max: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < min || value > max) throw new ConfigError(option, `must be between ${min} and ${max}`)
  return value
}
