/**
 * Differential test: the real Cerbos PDP (0.55, from @cerbos/cerbos-linux-x64) is the oracle. Random
 * CheckResources requests, drawn with fast-check from what each policy directory uses plus noise, go
 * to the PDP over HTTP and to the embedded engine; the answers must be identical: effects, matched
 * policy and scope per action, effective derived roles, outputs (values and errors) and validation
 * errors, in the Cerbos HTTP API response shape the CLI writes. Requests both sides reject agree.
 *
 * Fixed seed by default; `MESHGUARD_DIFF_SEED=<n>` changes it, `MESHGUARD_DIFF_SCALE=<x>` scales the
 * number of requests. auxData claims are generated too, sent as an unverified JWT to both sides (the
 * PDP's config disables verification; the CLI's reader decodes it the same way).
 */
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CheckResourcesRequest, EmbeddedEngine } from '@meshguard/core'
import { readCheckRequest, toHttpResponse } from '../../packages/cli/src/cerbos-http.js'
import type { CerbosPdp } from '../support/cerbos-pdp.js'
import { requestArbitrary } from './requests.js'
import { Divergences, pool, useTargets, type Answer, type DifferentialTarget } from './targets.js'
import { readVocabulary } from './vocabulary.js'

const STORE = fileURLToPath(new URL('../../conformance/cerbos/store', import.meta.url))
const SEED_POLICIES = fileURLToPath(new URL('../../examples/policies', import.meta.url))
const SEED = Number(process.env['MESHGUARD_DIFF_SEED'] ?? 20_261_123)
const SCALE = Number(process.env['MESHGUARD_DIFF_SCALE'] ?? 1)
const CONCURRENCY = 8

const TARGETS: DifferentialTarget[] = [
  { name: 'corpus store, strict scope search', dir: STORE, requests: 1000, options: { globals: { environment: 'test' }, lenientScopeSearch: false, schemaEnforcement: 'none' } },
  { name: 'corpus store, lenient scope search, schema warn', dir: STORE, requests: 400, options: { globals: { environment: 'test' }, lenientScopeSearch: true, schemaEnforcement: 'warn' } },
  { name: 'corpus store, schema reject', dir: STORE, requests: 200, options: { globals: { environment: 'test' }, lenientScopeSearch: false, schemaEnforcement: 'reject' } },
  { name: 'seed policies (examples/policies)', dir: SEED_POLICIES, requests: 400, options: { globals: {}, lenientScopeSearch: false, schemaEnforcement: 'none' } },
]

const byOrder = <T>(key: (item: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/**
 * `now()` differs between two processes: an output value that is a timestamp within a minute of the
 * wall clock is the current time on both sides (policies such as `output_now` return it) and compares
 * as `<now>`.
 */
function maskNow(value: unknown): unknown {
  if (typeof value === 'string' && TIMESTAMP.test(value) && Math.abs(Date.parse(value) - Date.now()) < 60_000) return '<now>'
  if (Array.isArray(value)) return value.map(maskNow)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskNow(v)]))
  return value
}

/** Order-free parts of a response put in order: derived roles (a Go set in Cerbos), outputs, validation errors. */
function normalize(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body, (key, value: unknown) => {
      if (key === 'cerbosCallId') return undefined
      if (key === 'effectiveDerivedRoles' && Array.isArray(value)) return [...(value as string[])].sort()
      if (key === 'outputs' && Array.isArray(value)) {
        return (value as { action?: string; src?: string; val?: unknown }[])
          .map((o) => ('val' in o ? { ...o, val: maskNow(o.val) } : o))
          .sort(byOrder((o) => `${o.action ?? ''}\u0000${o.src ?? ''}`))
      }
      // Cerbos's own conformance harness compares validation errors sorted by (source, path).
      if (key === 'validationErrors' && Array.isArray(value)) {
        return [...(value as { source: string; path: string; message: string }[])].sort(byOrder((e) => `${e.source}\u0000${e.path}\u0000${e.message}`))
      }
      return value
    }),
  )
}

/**
 * The PDP's HTTP API takes auxData as a raw JWT; the helper starts it with `disableVerification`, so a
 * token carrying the same claims with a dummy signature reaches the policies as those claims.
 */
function withToken(request: CheckResourcesRequest): unknown {
  const claims = request.auxData?.jwt
  if (claims === undefined) return request
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return { ...request, auxData: { jwt: { token: `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${part('unverified')}` } } }
}

async function askPdp(pdp: CerbosPdp, request: CheckResourcesRequest): Promise<Answer> {
  const response = await fetch(`${pdp.httpUrl}/api/check/resources`, { method: 'POST', body: JSON.stringify(withToken(request)) })
  const body = (await response.json()) as { message?: string }
  return response.ok ? { ok: true, body: normalize(body) } : { ok: false, error: body.message ?? `HTTP ${response.status}` }
}

function askEngine(engine: EmbeddedEngine, request: CheckResourcesRequest): Answer {
  try {
    // The same body the PDP gets, token included: this is the `meshguard check` pipeline.
    const parsed = readCheckRequest(JSON.parse(JSON.stringify(withToken(request))))
    return { ok: true, body: normalize(toHttpResponse(parsed, engine.checkInputs(parsed.inputs))) }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}

/** Names what differs between two answers, per field kind, e.g. `matchedPolicy`, `effect`, `rejected`. */
function differences(theirs: Answer, ours: Answer): string[] {
  if (theirs.ok !== ours.ok) return [theirs.ok ? 'engine rejected, cerbos answered' : 'cerbos rejected, engine answered']
  if (!theirs.ok || !ours.ok) return []
  const kinds = new Set<string>()
  const walk = (a: unknown, b: unknown, key: string): void => {
    if (JSON.stringify(a) === JSON.stringify(b)) return
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b) && key !== 'outputs') {
      const ao = a as Record<string, unknown>
      const bo = b as Record<string, unknown>
      for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) walk(ao[k], bo[k], key === 'actions' && typeof ao[k] !== 'object' ? 'effect' : k)
      return
    }
    if (Array.isArray(a) && Array.isArray(b) && key === 'results') {
      a.forEach((item, i) => walk(item, b[i], 'result'))
      return
    }
    kinds.add(key)
  }
  walk(theirs.body, ours.body, 'body')
  return [...kinds]
}

const running = useTargets(TARGETS)

describe.each(TARGETS)('differential vs the Cerbos PDP: $name', (target) => {
  it('gives identical answers to randomized requests', async () => {
    const { pdp, engine } = running.get(target.name) ?? expect.unreachable('PDP not started')
    const vocab = await readVocabulary(target.dir)
    const count = Math.max(1, Math.round(target.requests * SCALE))
    const requests = fc.sample(requestArbitrary(vocab), { seed: SEED, numRuns: count })
    const divergences = new Divergences()
    let decisions = 0
    let rejectedByBoth = 0
    let allows = 0
    const withAuxData = requests.filter((r) => r.auxData !== undefined).length
    await pool(requests, CONCURRENCY, async (request, i) => {
      const [theirs, ours] = [await askPdp(pdp, request), askEngine(engine, request)]
      if (!theirs.ok && !ours.ok) {
        rejectedByBoth++
        return
      }
      if (theirs.ok) {
        decisions += request.resources.reduce((n, r) => n + r.actions.length, 0)
        allows += JSON.stringify(theirs.body).split('"EFFECT_ALLOW"').length - 1
      }
      divergences.note(i, differences(theirs, ours), request, theirs, ours)
    })
    console.log(
      `differential [${target.name}] seed=${SEED}: ${requests.length} requests compared (${decisions} action decisions of which ${allows} allowed, ${withAuxData} with JWT claims, ${rejectedByBoth} rejected by both), ${divergences.summary()}`,
    )
    expect(divergences.count, divergences.examples()).toBe(0)
  })
})

