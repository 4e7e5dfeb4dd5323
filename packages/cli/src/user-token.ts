/**
 * `meshguard user-token`: a development actor token (a user's, or an AI agent's with `--agent`) with
 * the `sub`, roles and attributes given, from the local development issuer in `--issuer-dir`.
 */
import { parseArgs } from 'node:util'
import { mintDevActorToken, openDevIssuer } from './dev-issuer.js'
import { write, UsageError, type CliIo } from './io.js'

/** `--attr key=value`: the value is JSON when it parses (numbers, booleans, lists), else a string. */
function parseAttr(pair: string): [string, unknown] {
  const eq = pair.indexOf('=')
  if (eq <= 0) throw new UsageError(`user-token: --attr ${JSON.stringify(pair)} must be key=value`)
  const raw = pair.slice(eq + 1)
  try {
    return [pair.slice(0, eq), JSON.parse(raw)]
  } catch {
    return [pair.slice(0, eq), raw]
  }
}

/** Runs `meshguard user-token --issuer-dir DIR --sub SUB [--role R]... [--attr K=V]... [--agent] [--aud AUD] [--lifetime S]`. */
export async function runUserToken(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'issuer-dir': { type: 'string' },
      sub: { type: 'string' },
      role: { type: 'string', multiple: true, default: [] },
      attr: { type: 'string', multiple: true, default: [] },
      agent: { type: 'boolean', default: false },
      aud: { type: 'string' },
      lifetime: { type: 'string', default: '900' },
    },
    strict: true,
  })
  if (values['issuer-dir'] === undefined) throw new UsageError('user-token: --issuer-dir DIR is required (the development issuer key is kept there)')
  if (values.sub === undefined || values.sub === '') throw new UsageError('user-token: --sub is required')
  const lifetime = Number(values.lifetime)
  if (!Number.isInteger(lifetime) || lifetime < 10 || lifetime > 86_400) throw new UsageError('user-token: --lifetime must be 10..86400 seconds')
  const issuer = await openDevIssuer(values['issuer-dir'])
  const attr = Object.fromEntries(values.attr.map(parseAttr))
  const token = mintDevActorToken(issuer, { sub: values.sub, roles: values.role, attr, agent: values.agent }, { audience: values.aud, lifetime })
  await write(io.stdout, `${token}\n`)
  return 0
}
