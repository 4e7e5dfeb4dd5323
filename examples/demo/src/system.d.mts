// Types of the sample system (system.mjs) for the TypeScript tests that import it.
import type { AuditRecord } from '@meshguard/core'
import type { RouteRequirement } from '@meshguard/core/adapter'

/** The profiles `startSystem` runs; the first is the default. */
export type Mode = 'wimse' | 'self-signed' | 'access-token'
export declare const MODES: readonly ['wimse', 'self-signed', 'access-token']

/** The sample system's trust domain (the `aud` of its Txn-Tokens). */
export declare const TRUST_DOMAIN: 'meshguard.example'

/** An answer over HTTP: its status and its parsed JSON (or text) body. */
export interface HttpAnswer {
  status: number
  body: unknown
}

/** What an attacker could hold, and do with it. */
export interface Attacker {
  /** Employee-service's genuine headers for review-service. */
  replayedHeaders: () => Promise<Record<string, string>>
  /** A look-alike signed with the attacker's key. */
  forgedHeaders: () => Promise<Record<string, string>>
  /** Genuine headers minted an hour ago. */
  expiredHeaders: () => Promise<Record<string, string>>
  /** An hour-old Txn-Token with a fresh bound workload token. */
  expiredTxnHeaders: () => Promise<Record<string, string>>
  /** One Txn-Token on another transaction's workload token. */
  splicedTxnHeaders: () => Promise<Record<string, string>>
  /** A Txn-Token of another trust domain's TTS. */
  foreignTxnHeaders: () => Promise<Record<string, string>>
  /** Employee-service asks for a wider replacement. */
  widenTxnToken: () => Promise<HttpAnswer>
  /** Orders exchanges a user's access token. */
  exchangeAsOrders: () => Promise<HttpAnswer>
  /** (wimse) The WIT + WPT employee-service last sent review-service, captured in flight. */
  capturedHeaders: () => Promise<Record<string, string>>
  /** (wimse) A genuine self-signed Bearer workload token of employee-service. */
  bearerHeaders: () => Promise<Record<string, string>>
}

/** A request an inner service received (headers only). */
export interface ReceivedRequest {
  service: string
  headers: Record<string, string | string[] | undefined>
}

export interface System {
  urls: { gateway: string; employees: string; review: string; agent: string; orders: string; payments: string; idp: string }
  /** Actor tokens from the IdP. */
  tokens: { alice: string; hana: string; ed: string; agent: string }
  mode: Mode
  attacker: Attacker
  /** Every request an inner service received (not the gateway, the IdP or the TTS), in order. */
  received: ReceivedRequest[]
  /** The Txn-Token Service (Txn-Token mode). */
  ttsUrl?: string | undefined
  /** Every audit record written so far, in order. */
  audit: AuditRecord[]
  /** Review-service's route table. */
  reviewRoutes: () => RouteRequirement[]
  /** Where the JSON-lines audit log is. */
  auditFile: string
  /** Waits until every service has written its records. */
  flushAudit: () => Promise<void>
  /** Short name of a workload or actor id. */
  nameOf: (id: string | undefined) => string
  /** Stops everything that was started (idempotent). */
  close: () => Promise<void>
}

/** Starts the whole sample system in this process, on 127.0.0.1 with ports chosen by the OS. */
export declare function startSystem(options: { auditFile: string; mode?: Mode | undefined }): Promise<System>
