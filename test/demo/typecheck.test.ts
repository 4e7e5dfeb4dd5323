/**
 * The samples are plain JavaScript, typed with JSDoc: `tsc -p examples` checks them strictly
 * against the built `@meshguard/*` declarations (the root test command builds first).
 */
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const project = fileURLToPath(new URL('../../examples/tsconfig.json', import.meta.url))

describe('examples type-check', () => {
  it('tsc -p examples reports no error', async () => {
    const result = await run(process.execPath, [tsc, '-p', project], { maxBuffer: 16 * 1024 * 1024 }).then(
      () => '',
      (err: unknown) => {
        // execFile rejects with an Error carrying the child's stdout (tsc prints its diagnostics there).
        const stdout: unknown = typeof err === 'object' && err !== null && 'stdout' in err ? err.stdout : undefined
        return typeof stdout === 'string' ? stdout : String(err)
      },
    )
    expect(result).toBe('')
  }, 120_000)
})
