/** The guard every adapter test uses: the real identity verifier and embedded engine, one audit log. */
import {
  createAuditLog,
  createGuard,
  EmbeddedEngine,
  functionSink,
  type AuditLog,
  type AuditRecord,
  type DecisionEngine,
  type Guard,
  type GuardOptions,
} from '@meshguard/core'
// Core's verifier from source, like test/support/identity.ts: the fixture's options carry the source's TrustBundle,
// a class the built declarations accept only from themselves (private members). At run time it is @meshguard/core's.
import { createIdentityVerifier } from '../../packages/core/src/identity/index.js'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'
import { contractEngine, POLICY_DIR, SERVICE } from './contract.js'
import { txnTokensFor } from './txn-cases.js'
import { CONTRACT_ORIGIN, wimseFor } from './wpt-cases.js'

/** A guard over fixture identities, the sample policies, and an in-memory audit log. */
export interface GuardFixture {
  guard: Guard
  ids: IdentityFixture
  audit: AuditLog
  /** Audit records written so far (call `audit.flush()` first). */
  records: AuditRecord[]
  /** Valid headers for employee-service calling review-service, optionally for a user. */
  headers(actor?: 'alice' | 'hana' | 'ed'): Promise<Record<string, string>>
}

/** What a suite changes of the fixture's guard. */
export interface GuardFixtureOptions {
  /** @defaultValue the sample policies, with the contract's failing kinds (`contractEngine`) */
  engine?: DecisionEngine
  /** More guard options (`shadow`, `telemetry`, …). */
  guard?: Partial<Pick<GuardOptions, 'shadow' | 'telemetry' | 'onInternalError'>>
  /** Whether the audit log keeps allowed decisions. @defaultValue true */
  keepAllowed?: boolean
}

/** Builds the fixture (keys are generated per call). */
export async function createGuardFixture(options: GuardFixtureOptions = {}): Promise<GuardFixture> {
  const ids = await createIdentityFixture()
  const records: AuditRecord[] = []
  const audit = createAuditLog({ sinks: [functionSink((record) => void records.push(record))], keepAllowed: options.keepAllowed ?? true })
  const guard = createGuard({
    ...options.guard,
    engine: options.engine ?? contractEngine(await EmbeddedEngine.fromDirectory(POLICY_DIR)),
    // Both modes: access tokens from the fixture IdP, and Txn-Tokens from the fixture Txn-Token Service.
    // Both profiles (a migration): self-signed workload tokens, and WIMSE WIT + WPT from the fixture issuer.
    identity: createIdentityVerifier(
      ids.verifierOptions(SERVICE, {
        trust: { ...ids.trust(), txnTokens: txnTokensFor(ids).trust(), workloadIssuers: [wimseFor(ids).home.trust()] },
        wimse: { origins: [CONTRACT_ORIGIN], accept: 'wpt-and-bearer' },
      }),
    ),
    service: SERVICE,
    audit,
  })
  return {
    guard,
    ids,
    audit,
    records,
    headers: (actor) => ids.headers({ from: 'employee-service', to: SERVICE, ...(actor ? { actor } : {}) }),
  }
}
