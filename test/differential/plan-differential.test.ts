/**
 * Differential test of PlanResources: the real Cerbos PDP (0.55) is the oracle. Random plan
 * requests (a principal, a resource kind with some of its attributes known, 1–4 actions), drawn with
 * fast-check from what each policy directory uses plus noise, go to the PDP's `/api/plan/resources`
 * and through `meshguard plan`'s pipeline (HTTP request reader, embedded engine, HTTP response
 * writer); the responses must be equal, with operands of commutative operators in any order and
 * nested and/or merged (Cerbos's own order and grouping vary between PDP processes, see
 * plan-compare.ts). Requests both sides reject agree.
 *
 * Fixed seed by default; `MESHGUARD_DIFF_SEED=<n>` changes it, `MESHGUARD_DIFF_SCALE=<x>` scales the
 * number of requests.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CheckResourcesRequest, EmbeddedEngine } from '@meshguard/core'
import { readPlanRequest, toHttpPlanResponse } from '../../packages/cli/src/cerbos-http-plan.js'
import type { CerbosPdp } from '../support/cerbos-pdp.js'
import { stabilisePlanResponse } from '../support/plan-compare.js'
import { requestArbitrary } from './requests.js'
import { Divergences, pool, useTargets, type Answer, type DifferentialTarget } from './targets.js'
import { readVocabulary } from './vocabulary.js'

const CONFORMANCE = fileURLToPath(new URL('../../conformance/cerbos/', import.meta.url))
const STORE = join(CONFORMANCE, 'store')
const PLAN_STORE = join(CONFORMANCE, 'plan', 'policies')
const SEED_POLICIES = fileURLToPath(new URL('../../examples/policies', import.meta.url))
const SEED = Number(process.env['MESHGUARD_DIFF_SEED'] ?? 20_261_207)
const SCALE = Number(process.env['MESHGUARD_DIFF_SCALE'] ?? 1)
const CONCURRENCY = 8

const TARGETS: DifferentialTarget[] = [
  { name: 'plan store, strict scope search', dir: PLAN_STORE, requests: 500, options: { globals: { environment: 'test' }, lenientScopeSearch: false, schemaEnforcement: 'none' } },
  { name: 'plan store, lenient scope search', dir: PLAN_STORE, requests: 200, options: { globals: { environment: 'test' }, lenientScopeSearch: true, schemaEnforcement: 'none' } },
  { name: 'corpus store, strict scope search', dir: STORE, requests: 500, options: { globals: { environment: 'test' }, lenientScopeSearch: false, schemaEnforcement: 'none' } },
  { name: 'corpus store, lenient scope search, schema warn', dir: STORE, requests: 200, options: { globals: { environment: 'test' }, lenientScopeSearch: true, schemaEnforcement: 'warn' } },
  { name: 'corpus store, schema reject', dir: STORE, requests: 100, options: { globals: { environment: 'test' }, lenientScopeSearch: false, schemaEnforcement: 'reject' } },
  { name: 'seed policies (examples/policies)', dir: SEED_POLICIES, requests: 200, options: { globals: {}, lenientScopeSearch: false, schemaEnforcement: 'none' } },
]

/** `now()` differs between the two processes: a timestamp within a minute of the wall clock compares as `<now>`. */
const NOW_TEXT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/g
function maskNow(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(NOW_TEXT, (t) => (Math.abs(Date.parse(t) - Date.now()) < 60_000 ? '<now>' : t))
  if (Array.isArray(value)) return value.map(maskNow)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskNow(v)]))
  return value
}

const normalize = (body: unknown): unknown => stabilisePlanResponse(maskNow(body), true)

/** A plan request from a generated check request: its principal, its first resource (without id, some attributes known) and its actions. */
function toPlanRequest(request: CheckResourcesRequest, known: number): Record<string, unknown> {
  const entry = request.resources[0]
  if (entry === undefined) return { principal: request.principal, resource: { kind: '' }, actions: [] }
  const { id: _id, attr, ...resource } = entry.resource
  const entries = Object.entries(attr ?? {})
  // Known attributes: none, some or all of the generated ones.
  const kept = known === 0 ? [] : known === 1 ? entries.filter((_, i) => i % 2 === 0) : entries
  const plan: Record<string, unknown> = {
    ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
    principal: request.principal,
    resource: kept.length > 0 ? { ...resource, attr: Object.fromEntries(kept) } : resource,
    actions: entry.actions,
    includeMeta: request.includeMeta,
  }
  const claims = request.auxData?.jwt
  if (claims !== undefined) {
    const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
    plan['auxData'] = { jwt: { token: `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${part('unverified')}` } }
  }
  return plan
}

async function askPdp(pdp: CerbosPdp, request: unknown): Promise<Answer> {
  const response = await fetch(`${pdp.httpUrl}/api/plan/resources`, { method: 'POST', body: JSON.stringify(request) })
  const body = (await response.json()) as { message?: string }
  return response.ok ? { ok: true, body: normalize(body) } : { ok: false, error: body.message ?? `HTTP ${response.status}` }
}

function askEngine(engine: EmbeddedEngine, request: unknown): Answer {
  try {
    return { ok: true, body: normalize(toHttpPlanResponse(engine.planResourcesSync(readPlanRequest(JSON.parse(JSON.stringify(request)))))) }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}

/** Names the top-level fields that differ (`filter`, `meta`, ...), or who rejected. */
function differences(theirs: Answer, ours: Answer): string[] {
  if (theirs.ok !== ours.ok) return [theirs.ok ? 'engine rejected, cerbos answered' : 'cerbos rejected, engine answered']
  if (!theirs.ok || !ours.ok) return []
  const a = theirs.body as Record<string, unknown>
  const b = ours.body as Record<string, unknown>
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
}

const running = useTargets(TARGETS)

describe.each(TARGETS)('PlanResources differential vs the Cerbos PDP: $name', (target) => {
  it('gives equal plans for randomized requests', async () => {
    const { pdp, engine } = running.get(target.name) ?? expect.unreachable('PDP not started')
    const vocab = await readVocabulary(target.dir)
    const count = Math.max(1, Math.round(target.requests * SCALE))
    const samples = fc.sample(fc.tuple(requestArbitrary(vocab), fc.integer({ min: 0, max: 2 })), { seed: SEED, numRuns: count })
    const requests = samples.map(([request, known]) => toPlanRequest(request, known))
    const divergences = new Divergences()
    const kinds = new Map<string, number>()
    let rejectedByBoth = 0
    await pool(requests, CONCURRENCY, async (request, i) => {
      const [theirs, ours] = [await askPdp(pdp, request), askEngine(engine, request)]
      if (!theirs.ok && !ours.ok) {
        rejectedByBoth++
        return
      }
      if (theirs.ok) {
        const kind = (theirs.body as { filter?: { kind?: string } }).filter?.kind ?? '?'
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
      }
      divergences.note(i, differences(theirs, ours), request, theirs, ours)
    })
    console.log(
      `plan differential [${target.name}] seed=${SEED}: ${requests.length} requests (${[...kinds].map(([k, n]) => `${k}: ${n}`).join(', ')}; ${rejectedByBoth} rejected by both), ${divergences.summary()}`,
    )
    expect(divergences.count, divergences.examples()).toBe(0)
  })
})
