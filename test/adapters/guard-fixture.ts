/** The guard every adapter test uses: the real identity verifier and embedded engine, one audit log. */
import {
  createAuditLog,
  createGuard,
  createIdentityVerifier,
  EmbeddedEngine,
  functionSink,
  type AuditLog,
  type AuditRecord,
  type Guard,
} from '@meshguard/core'
import { createIdentityFixture, type IdentityFixture } from '../support/identity.js'
import { contractEngine, POLICY_DIR, SERVICE } from './contract.js'
import { txnTokensFor } from './txn-cases.js'

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

/** Builds the fixture (keys are generated per call). */
export async function createGuardFixture(): Promise<GuardFixture> {
  const ids = await createIdentityFixture()
  const records: AuditRecord[] = []
  const audit = createAuditLog({ sinks: [functionSink((record) => void records.push(record))] })
  const guard = createGuard({
    engine: contractEngine(await EmbeddedEngine.fromDirectory(POLICY_DIR)),
    // Both modes: access tokens from the fixture IdP, and Txn-Tokens from the fixture Txn-Token Service.
    identity: createIdentityVerifier(ids.verifierOptions(SERVICE, { trust: { ...ids.trust(), txnTokens: txnTokensFor(ids).trust() } })),
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
