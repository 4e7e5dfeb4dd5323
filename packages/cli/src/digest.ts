/** `meshguard digest DIR`: prints the sha256 digest of the policy set (what `policyDigest` reports at runtime). */
import { parseArgs } from 'node:util'
import { loadPolicyDirectory } from '@meshguard/core'
import { write, UsageError, type CliIo } from './io.js'

/** Runs `meshguard digest`; resolves to the exit code. */
export async function runDigest(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args: [...args], options: {}, strict: true, allowPositionals: true })
  const [dir, ...extra] = positionals
  if (dir === undefined || extra.length > 0) throw new UsageError('digest: expected exactly one policy directory')
  const set = await loadPolicyDirectory(dir)
  await write(io.stdout, `${set.digest}\n`)
  return 0
}
