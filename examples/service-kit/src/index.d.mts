// Types of the shared sample-service wiring (index.mjs) for the TypeScript tests that import it.
import type { Server } from 'node:http'
import type { KeyObject } from 'node:crypto'
import type { AuditLog, AuditLogOptions, AuditSink, Meshguard, TrustBundle, TrustBundleOptions } from '@meshguard/core'
import type { WimseIdentity, WitSource } from '@meshguard/core/wimse'
import type { MeshguardFetch } from '@meshguard/client'

/** A service this one calls. */
export interface Upstream {
  /** Base URL, e.g. `http://127.0.0.1:4100`. */
  url: string
  /** The callee's SPIFFE ID (the audience of tokens minted for it). */
  id: string
}

/** The WIMSE profile (WIT + WPT). */
export interface WimseConfig {
  /** The WIT issuer (the Txn-Token Service's URL): `POST <issuerUrl>/wit`. */
  issuerUrl: string
}

export interface ServiceConfig {
  /** This service's SPIFFE ID (each service has a default). */
  id?: string
  /** Private key (Ed25519 or P-256), KeyObject or PEM. */
  signingKey: KeyObject | string
  /** Key id published for it in the trust bundle. */
  kid: string
  /** Who may call this service (workload keys) and which IdPs issue actor tokens. */
  trust: TrustBundle | TrustBundleOptions
  /** Defaults to `examples/policies`. */
  policyDir?: string
  /** Defaults to JSON lines on stdout. */
  auditSinks?: AuditSink[]
  /** The audit log's other options. */
  audit?: Omit<AuditLogOptions, 'sinks'>
  /** Services this one calls. */
  upstreams?: Record<string, Upstream>
  wimse?: WimseConfig
  /** Defaults to 127.0.0.1. */
  host?: string
  /** Defaults to 0 (a free port). */
  port?: number
}

/** The sample system's shared policy directory. */
export declare const DEFAULT_POLICY_DIR: string

/** The outbound identity of the WIMSE profile: a WIT from the issuer and a fresh WPT per attempt. */
export declare function wimseIdentity(options: { id: string; signingKey: KeyObject | string; kid: string; issuerUrl: string }): { identity: WimseIdentity; source: WitSource }

export declare function createServiceMeshguard(
  config: ServiceConfig,
  defaultId: string,
): Promise<{ id: string; engine: Meshguard['engine']; guard: Meshguard['guard']; audit: AuditLog; fetch: MeshguardFetch; close: () => Promise<void> }>

/** Continues the caller's trace (W3C `traceparent`) for this request. */
export declare function continueTrace(req: { headers: Record<string, string | string[] | undefined> }, _res: unknown, next: () => void): void

/** Serves a Node HTTP server on the configured host/port (loopback and a free port by default). */
export declare function serve(server: Server, config: { host?: string; port?: number }): Promise<{ url: string; close: () => Promise<void> }>

/** Relays a downstream answer (status, content type, body) to the caller. */
export declare function relay(upstream: { status: number; headers: { get(name: string): string | null }; text(): Promise<string> }): Promise<{ status: number; contentType: string; body: string }>
