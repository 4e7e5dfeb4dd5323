import { readFile, stat } from 'node:fs/promises'
import { decodeJwt } from 'jose'
import { ConfigError, MintError } from '../../errors.js'
import type { WorkloadTokenSource } from './token-source.js'

/** Options of {@link tokenFileSource}. */
export interface TokenFileSourceOptions {
  /** A file holding one JWT (a SPIRE JWT-SVID or a Kubernetes projected token), rotated by its writer. */
  path: string
}

/**
 * Reads the workload token from a file, re-reading it whenever the file changes. The token is sent
 * as written, so it cannot be bound to an actor or narrowed per callee: the callee's anchor must set
 * `requireActorBinding: false`, and the token's `aud` must include the callee or minting fails.
 */
export function tokenFileSource(options: TokenFileSourceOptions): WorkloadTokenSource {
  if (typeof (options as typeof options | undefined)?.path !== 'string' || options.path === '') throw new ConfigError('identity.source.path', 'is required')
  let current: { token: string; mtimeMs: number; exp: number; aud: string[] } | undefined
  async function load(): Promise<NonNullable<typeof current>> {
    let mtimeMs: number
    try {
      mtimeMs = (await stat(options.path)).mtimeMs
      if (current !== undefined && current.mtimeMs === mtimeMs) return current
      const token = (await readFile(options.path, 'utf8')).trim()
      const claims = decodeJwt(token)
      const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []
      if (typeof claims.exp !== 'number') throw new Error('token has no exp')
      current = { token, mtimeMs, exp: claims.exp, aud }
      return current
    } catch (err) {
      throw new MintError('token_source_unavailable', 'workload token file cannot be read', { cause: err })
    }
  }
  return {
    kind: 'token-file',
    binds: false,
    async token(request) {
      const loaded = await load()
      if (loaded.exp * 1000 <= request.now) throw new MintError('token_expired', 'workload token file holds an expired token')
      if (!loaded.aud.includes(request.audience)) {
        throw new MintError('audience_unavailable', 'workload token file has no token for this audience')
      }
      return { token: loaded.token, expiresAt: loaded.exp * 1000 }
    },
  }
}
