/**
 * Hot reload under load. A real Express service on 127.0.0.1, guarded by @meshguard/express (real
 * workload + actor token verification, the `view` action checked by the guard, audit and telemetry),
 * answers every request with one multi-action check for the verified caller, while the policy directory is rewritten many times between two versions whose answers are
 * disjoint (v1 allows read+list, v2 allows write+delete), with broken writes (bad YAML, bad CEL, a
 * missing import, each of which would allow everything if it ever went live) in between.
 * Proof: zero failed or 5xx responses, every answer is exactly v1 or v2 (never a mix within a
 * check, never a broken set), each broken write is rejected with its PolicyError, and the digest,
 * reload events and reload metric follow every change.
 */
import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EmbeddedEngine,
  PolicyError,
  createAuditLog,
  createGuard,
  createTelemetry,
  functionSink,
  policyInfo,
  type AuditLog,
  type AuditRecord,
  type Effect,
  type Resource,
} from '@meshguard/core'
import { watchPolicies, type PolicyWatcher, type ReloadEvent } from '@meshguard/core/node'
import { ATTR_AUTHZ_OUTCOME, METRIC_POLICY_RELOADS } from '@meshguard/core/telemetry'
import { authorize } from '@meshguard/express'
import { otelHarness } from '../../packages/core/test/telemetry/harness.js'
// Core's verifier from source, like test/support/identity.ts: the fixture's options carry the source's TrustBundle,
// a class the built declarations accept only from themselves (private members). At run time it is @meshguard/core's.
import { createIdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture } from '../support/identity.js'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/hot-reload/${name}`, import.meta.url))

const ACTIONS = ['read', 'list', 'write', 'delete'] as const
type Answer = Record<(typeof ACTIONS)[number], Effect>
const V1: Answer = { read: 'EFFECT_ALLOW', list: 'EFFECT_ALLOW', write: 'EFFECT_DENY', delete: 'EFFECT_DENY' }
const V2: Answer = { read: 'EFFECT_DENY', list: 'EFFECT_DENY', write: 'EFFECT_ALLOW', delete: 'EFFECT_ALLOW' }
const versionOf = (answer: unknown): 'v1' | 'v2' | 'other' =>
  JSON.stringify(answer) === JSON.stringify(V1) ? 'v1' : JSON.stringify(answer) === JSON.stringify(V2) ? 'v2' : 'other'

const ROUNDS = 24 // good writes (alternating v1/v2)
const BROKEN = ['broken-yaml', 'broken-condition', 'broken-import'] as const
const WORKERS = 8

let base: string
let policies: string
let engine: EmbeddedEngine
let watcher: PolicyWatcher | undefined
let server: Server | undefined
let pool: Pool | undefined
let audit: AuditLog | undefined
let headers: Record<string, string>
const auditRecords: AuditRecord[] = []
const SERVICE = 'documents-api'
const harness = otelHarness()
const events: ReloadEvent[] = []
let stopped = false

/** Replaces the document policy in one rename, as a config-map update or a deploy script would. */
async function install(version: string, seq: number): Promise<void> {
  const staged = join(base, 'staging', `document-${seq}.yaml`)
  await copyFile(fixture(`document.${version}.yaml`), staged)
  await rename(staged, join(policies, 'resources', 'document.yaml'))
}

/** Polls a condition on the event loop (the load keeps running meanwhile); gives up with the test. */
async function until(condition: () => boolean, what: string, state?: () => unknown): Promise<void> {
  const giveUp = Date.now() + 20_000 // a hang guard, not a performance threshold
  while (!condition()) {
    if (stopped || Date.now() > giveUp) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(state?.())}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'mg-hot-reload-'))
  policies = join(base, 'policies')
  await mkdir(join(policies, 'resources'), { recursive: true })
  await mkdir(join(policies, 'derived_roles'))
  await mkdir(join(base, 'staging'))
  await copyFile(fixture('derived_roles.yaml'), join(policies, 'derived_roles', 'document_roles.yaml'))
  await install('v1', 0)
  engine = await EmbeddedEngine.fromDirectory(policies)
  watcher = watchPolicies(engine, policies, {
    debounceMs: 5,
    telemetry: createTelemetry({ tracerProvider: harness.tracerProvider, meterProvider: harness.meterProvider }),
    onReload: (event) => events.push(event),
  })

  // The service: the guard checks `view` (allowed in both versions); the handler then asks which of
  // four actions the verified caller may do, in ONE check, and answers with the effects.
  const telemetry = createTelemetry({ tracerProvider: harness.tracerProvider, meterProvider: harness.meterProvider })
  const ids = await createIdentityFixture({ services: ['documents-service', SERVICE] })
  audit = createAuditLog({ sinks: [functionSink((record) => void auditRecords.push(record))], bufferSize: 1 << 20 })
  const guard = createGuard({
    engine,
    identity: createIdentityVerifier(ids.verifierOptions(SERVICE)),
    service: SERVICE,
    audit,
    telemetry,
  })
  headers = await ids.headers({ from: 'documents-service', to: SERVICE, actor: 'alice' })
  const documentOf = (id: string): Resource => ({ kind: 'document', id, attr: { department: 'engineering' } })
  const app = express()
  app.get(
    '/documents/:id',
    authorize(guard, { resource: (req) => documentOf(String(req.params['id'])), action: 'view', actor: 'required' }),
    (req, res, next) => {
      engine
        .checkResources({
          principal: req.meshguard!.caller.principal,
          resources: [{ resource: documentOf(String(req.params['id'])), actions: [...ACTIONS] }],
        })
        .then((response) => res.json({ actions: response.results[0]?.actions, digest: engine.policyDigest }), next)
    },
  )
  server = await new Promise<Server>((resolve) => {
    const listening: Server = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  const { port } = server.address() as AddressInfo
  pool = new Pool(`http://127.0.0.1:${port}`, { connections: WORKERS })
})

afterAll(async () => {
  stopped = true
  await watcher?.close()
  await pool?.close()
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await audit?.close()
  await harness.shutdown()
  await rm(base, { recursive: true, force: true })
})

describe('hot reload under load', () => {
  it('serves every request from exactly one complete policy version while policies change', async () => {
    const seen = { v1: 0, v2: 0 }
    const failures: string[] = []
    const digests = new Set<string>()
    let responses = 0
    let stop = false

    const worker = async (): Promise<void> => {
      while (!stop && !stopped) {
        try {
          const { statusCode, body } = await pool!.request({ method: 'GET', path: '/documents/d1', headers })
          const text = await body.text()
          responses++
          if (statusCode !== 200) {
            failures.push(`status ${statusCode}`)
            continue
          }
          const parsed = JSON.parse(text) as { actions: unknown; digest: string }
          const version = versionOf(parsed.actions)
          if (version === 'other') failures.push(`mixed or unknown answer ${text}`)
          else seen[version]++
          digests.add(parsed.digest)
        } catch (error) {
          failures.push(`request failed: ${String(error)}`)
        }
      }
    }
    const load = Array.from({ length: WORKERS }, () => worker())

    let seq = 0
    let brokenWrites = 0
    const swapLatencies: number[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const version = round % 2 === 1 ? 'v2' : 'v1'
      const before = seen[version]
      const eventsBefore = events.length
      const writtenAt = Date.now()
      await install(version, ++seq)
      // Wait until the new version is live AND the load has been served by it.
      await until(() => events.length > eventsBefore && seen[version] > before, `${version} to go live`, () => ({ seen, responses, failures: failures.slice(0, 3), events: events.length }))
      expect(engine.policyDigest).toBe(events.at(-1)?.digest)
      swapLatencies.push(events[eventsBefore]!.at.getTime() - writtenAt)

      if (round % 3 === 0) {
        const broken = BROKEN[(round / 3) % BROKEN.length]!
        const failedBefore = events.filter((e) => !e.ok).length
        const digestBefore = engine.policyDigest
        await install(broken, ++seq)
        brokenWrites++
        await until(() => events.filter((e) => !e.ok).length > failedBefore, `${broken} to be rejected`)
        expect(engine.policyDigest).toBe(digestBefore)
        // Put the good version back before the next round, so the broken file is not left in place.
        const restoredBefore = events.length
        await install(version, ++seq)
        await until(() => events.length > restoredBefore && events.at(-1)?.ok === true, `${version} to be restored`)
      }
    }
    stop = true
    await Promise.all(load)

    expect(failures).toEqual([])
    expect(seen.v1).toBeGreaterThan(0)
    expect(seen.v2).toBeGreaterThan(0)
    expect(responses).toBe(seen.v1 + seen.v2)

    // Every broken write was rejected with its PolicyError and never went live.
    const rejected = events.filter((e): e is Extract<ReloadEvent, { ok: false }> => !e.ok)
    expect(rejected.length).toBeGreaterThanOrEqual(brokenWrites)
    for (const event of rejected) {
      const { error } = event
      expect(error).toBeInstanceOf(PolicyError)
      if (!(error instanceof PolicyError)) throw new Error('not a PolicyError')
      expect(error.issues.length).toBeGreaterThan(0)
      expect(error.issues[0]?.file).toMatch(/document\.yaml$/)
    }
    // The two versions have two digests, and only those were ever served.
    expect(digests.size).toBe(2)
    expect(policyInfo(engine)).toMatchObject({ digest: engine.policyDigest, engine: 'embedded' })
    // The guard's own decisions: every one audited as allowed, under one of the two digests, and the
    // digest change is visible in the audit log.
    await audit!.flush()
    expect(auditRecords.length).toBe(responses)
    expect(auditRecords.every((r) => r.outcome === 'allowed' && r.action === 'view')).toBe(true)
    expect(new Set(auditRecords.map((r) => r.policyDigest))).toEqual(digests)

    const reloads = await harness.points(METRIC_POLICY_RELOADS)
    const count = (outcome: string): number =>
      Number(reloads.find((p) => p.attributes[ATTR_AUTHZ_OUTCOME] === outcome)?.value ?? 0)
    expect(count('success')).toBe(events.filter((e) => e.ok).length)
    expect(count('failure')).toBe(rejected.length)
    swapLatencies.sort((a, b) => a - b)
    console.info(
      `hot reload: ${responses} responses (${seen.v1} v1, ${seen.v2} v2), ${events.length} reloads ` +
        `(${rejected.length} rejected), ${seq} writes, 0 failures; write → live ms ` +
        `median ${swapLatencies[swapLatencies.length >> 1]} max ${swapLatencies.at(-1)}`,
    )
  }, 120_000) // a heavy test: generous when the whole suite shares two cores
})
