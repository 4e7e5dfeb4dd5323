/**
 * docs/security-model.md stays true to the code: one row per threat T1–T45 and on (T50 on, added in
 * parallel, may leave a gap), each with a test of
 * that number in the security suite, and every reason code it names is one meshguard really uses.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import {
  IDENTITY_INVALID_REASONS,
  IDENTITY_MISSING_REASONS,
  IDENTITY_UNAVAILABLE_REASONS,
  MINT_REASONS,
} from '@meshguard/core'
import { TXN_TOKEN_DENIED_REASONS } from '@meshguard/core/txn-tokens'

const page = await readFile(new URL('../../docs/security-model.md', import.meta.url), 'utf8')
const suite =
  (await readFile(new URL('../security/threats.test.ts', import.meta.url), 'utf8')) +
  (await readFile(new URL('../security/txn-threats.test.ts', import.meta.url), 'utf8')) +
  (await readFile(new URL('../security/wimse-threats.test.ts', import.meta.url), 'utf8'))
const rows = [...page.matchAll(/^\| (T\d+) \|(.*)\|$/gm)].map((m) => ({ id: m[1] ?? '', text: m[2] ?? '' }))

/** Reasons outside identity that the page may name (engine, pipeline, remote PDP). */
const OTHER_REASONS = ['internal_error', 'pdp_unavailable', 'pdp_timeout', 'denied', 'insufficient_claims', 'insufficient_user_authentication']
/** snake_case names on the page that are claims or metadata members, not reasons. */
const CLAIM_NAMES = new Set(['may_act', 'req_wl', 'jwks_uri', 'auth_time'])
const known = new Set([
  ...Object.keys(IDENTITY_INVALID_REASONS),
  ...Object.keys(IDENTITY_MISSING_REASONS),
  ...Object.keys(IDENTITY_UNAVAILABLE_REASONS),
  ...Object.keys(MINT_REASONS),
  ...Object.keys(TXN_TOKEN_DENIED_REASONS),
  ...OTHER_REASONS,
])

describe('docs/security-model.md', () => {
  it('has one row per threat, T1 to T45 without a gap, then in increasing order', () => {
    const numbers = rows.map((r) => Number(r.id.slice(1)))
    expect(numbers.slice(0, 45)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1))
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]!, rows[i]!.id).toBeGreaterThan(numbers[i - 1]!)
  })

  it('each threat has a test of the same number in test/security/threats.test.ts', () => {
    for (const { id } of rows) expect(suite, id).toMatch(new RegExp(`it\\('${id} `))
  })

  it('names only reason codes meshguard uses', () => {
    const named = new Set([...page.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((m) => m[1] ?? ''))
    expect(named.size).toBeGreaterThan(20)
    for (const reason of named) if (!CLAIM_NAMES.has(reason)) expect(known, reason).toContain(reason)
  })
})
