import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  IDENTITY_INVALID_REASONS,
  IDENTITY_MISSING_REASONS,
  IDENTITY_UNAVAILABLE_REASONS,
  MINT_REASONS,
} from '../../src/identity/index.js'

/** Reason codes thrown in the identity and context sources, per error class. */
function thrown(): Record<string, Set<string>> {
  const found: Record<string, Set<string>> = { IdentityError: new Set(), MintError: new Set(), UnavailableError: new Set(), IdentityMissingError: new Set() }
  for (const dir of ['identity', 'context']) {
    const base = new URL(`../../src/${dir}/`, import.meta.url)
    const files = readdirSync(base, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    for (const file of files) {
      const text = readFileSync(new URL(file, base), 'utf8')
      for (const m of text.matchAll(/new (IdentityError|MintError|UnavailableError)\('([a-z_]+)'/g)) found[m[1] as string]?.add(m[2] as string)
      for (const m of text.matchAll(/new IdentityMissingError\([^)]*reason: '([a-z_]+)'/g)) found['IdentityMissingError']?.add(m[1] as string)
      // Txn-Token failures are renamed from the generic check's reason through one table.
      for (const m of text.matchAll(/^ {2}[a-z_]+: '(txn_token_[a-z_]+)',$/gm)) found['IdentityError']?.add(m[1] as string)
    }
  }
  return found
}

describe('reason catalogue', () => {
  it('lists exactly the reasons the source throws', () => {
    const codes = thrown()
    expect([...(codes['IdentityError'] ?? [])].sort()).toEqual(Object.keys(IDENTITY_INVALID_REASONS).sort())
    expect([...(codes['MintError'] ?? [])].sort()).toEqual(Object.keys(MINT_REASONS).sort())
    expect([...(codes['UnavailableError'] ?? [])].sort()).toEqual(Object.keys(IDENTITY_UNAVAILABLE_REASONS).sort())
    // token_missing is IdentityMissingError's default reason.
    expect(['token_missing', ...(codes['IdentityMissingError'] ?? [])].sort()).toEqual(Object.keys(IDENTITY_MISSING_REASONS).sort())
  })
})
