/**
 * The adapters' type tests (`expectTypeOf` and `@ts-expect-error` in the adapter and contract tests)
 * only mean something when the compiler checks them: vitest strips types. This runs `tsc` over them.
 */
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const project = fileURLToPath(new URL('./tsconfig.types.json', import.meta.url))

describe('adapter type tests', () => {
  it('tsc reports no error over the adapter tests, their type assertions included', async () => {
    const result = await run(process.execPath, [tsc, '-p', project], { maxBuffer: 16 * 1024 * 1024 }).then(
      () => '',
      // A failed run rejects with tsc's report on the error's stdout.
      (err: unknown) => (typeof err === 'object' && err !== null && 'stdout' in err && typeof err.stdout === 'string' ? err.stdout : String(err)),
    )
    expect(result).toBe('')
  }, 120_000)
})
