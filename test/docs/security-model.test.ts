/**
 * docs/security-model.md stays true to the code: one row per threat, T1 on without a gap, each with a
 * test of that number in the security suite, and every reason code it names is one meshguard really
 * uses (core's reason catalogues, or a refusal the token service really raises).
 */
import { readdir, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import {
  IDENTITY_INVALID_REASONS,
  IDENTITY_MISSING_REASONS,
  IDENTITY_UNAVAILABLE_REASONS,
  MINT_REASONS,
} from '@meshguard/core'
import { TXN_TOKEN_DENIED_REASONS } from '@meshguard/core/txn-tokens'

const page = await readFile(new URL('../../docs/security-model.md', import.meta.url), 'utf8')
const securityDir = new URL('../security/', import.meta.url)
const threatFiles = (await readdir(securityDir)).filter((f) => /threats\.test\.ts$/.test(f)).sort()
const suite = (await Promise.all(threatFiles.map((f) => readFile(new URL(f, securityDir), 'utf8')))).join('\n')
const rows = [...page.matchAll(/^\| (T\d+) \|(.*)\|$/gm)].map((m) => ({ id: m[1] ?? '', text: m[2] ?? '' }))

/** Reasons outside identity that the page may name (engine, pipeline, remote PDP). */
const OTHER_REASONS = ['internal_error', 'pdp_unavailable', 'pdp_timeout', 'denied', 'insufficient_claims', 'insufficient_user_authentication']
/** snake_case names on the page that are claims or metadata members, not reasons. */
const CLAIM_NAMES = new Set(['may_act', 'req_wl', 'jwks_uri', 'auth_time', 'private_key_jwt'])
/** Reason codes the token service (Txn-Tokens and WITs) raises: every `refuse.<kind>('reason', …)` in its source. */
async function tokenServiceReasons(): Promise<string[]> {
  const dir = new URL('../../packages/txn-token-service/src/', import.meta.url)
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts'))
  const sources = await Promise.all(files.map((f) => readFile(new URL(f, dir), 'utf8')))
  return sources.flatMap((src) => [...src.matchAll(/refuse\.\w+\(\s*'([a-z_]+)'/g)].map((m) => m[1] ?? ''))
}
const known = new Set([
  ...(await tokenServiceReasons()),
  ...Object.keys(IDENTITY_INVALID_REASONS),
  ...Object.keys(IDENTITY_MISSING_REASONS),
  ...Object.keys(IDENTITY_UNAVAILABLE_REASONS),
  ...Object.keys(MINT_REASONS),
  ...Object.keys(TXN_TOKEN_DENIED_REASONS),
  ...OTHER_REASONS,
])

describe('docs/security-model.md', () => {
  it('has one row per threat, T1 on without a gap', () => {
    const numbers = rows.map((r) => Number(r.id.slice(1)))
    expect(numbers.length).toBeGreaterThanOrEqual(68)
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1))
  })

  it('reads every threat file of the suite', () => {
    expect(threatFiles).toEqual(expect.arrayContaining(['threats.test.ts', 'txn-threats.test.ts', 'wimse-threats.test.ts', 'wit-issuer-threats.test.ts']))
  })

  it('each threat has a test of the same number in a test/security/*threats.test.ts file', () => {
    for (const { id } of rows) expect(suite, id).toMatch(new RegExp(`it\\('${id} `))
  })

  it('names only reason codes meshguard uses', () => {
    const named = new Set([...page.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((m) => m[1] ?? ''))
    expect(named.size).toBeGreaterThan(20)
    for (const reason of named) if (!CLAIM_NAMES.has(reason)) expect(known, reason).toContain(reason)
  })
})
