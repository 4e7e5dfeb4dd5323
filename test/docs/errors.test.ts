/**
 * docs/reference/errors.md and packages/core/src/errors.ts must agree in both directions: every
 * code has an anchored section and a table row with the right HTTP status, and the page names no
 * code that does not exist.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { ERROR_HTTP_STATUS } from '@meshguard/core'

const page = await readFile(new URL('../../docs/reference/errors.md', import.meta.url), 'utf8')
const codes = Object.keys(ERROR_HTTP_STATUS)

describe('docs/reference/errors.md', () => {
  it('has one section per error code', () => {
    const sections = [...page.matchAll(/^## (ERR_AUTHZ_[A-Z_]+)\s*$/gm)].map((m) => m[1])
    expect(new Set(sections).size).toBe(sections.length)
    expect([...sections].sort()).toEqual([...codes].sort())
  })

  it('lists each code in the table with its anchor and HTTP status', () => {
    for (const [code, status] of Object.entries(ERROR_HTTP_STATUS)) {
      const row = new RegExp(`^\\| \\[\`${code}\`\\]\\(#${code.toLowerCase()}\\) \\| ${status} \\|`, 'm')
      expect(page, code).toMatch(row)
      const section = page.split(`## ${code}\n`)[1]?.split('\n## ')[0] ?? ''
      expect(section, `${code} section states HTTP ${status}`).toContain(`HTTP ${status}`)
    }
  })

  it('mentions no code that the library does not define', () => {
    const mentioned = new Set(page.match(/ERR_AUTHZ_[A-Z_]+/g))
    for (const code of mentioned) expect(codes, code).toContain(code)
  })
})
