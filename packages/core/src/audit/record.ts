import type { MeshguardErrorCode, TokenKind } from '../errors.js'
import type { CheckResourcesRequest, CheckResourcesResponse, DecisionExplanation, Effect } from '../types.js'

/** What an audit record is about: a policy decision, or a request rejected before any decision. */
export type AuditRecordKind = 'decision' | 'auth_failure'

/**
 * How an authorization ended. `allowed`/`denied` come from the policy; `unauthenticated` means the
 * credentials were missing or rejected; `error` means the service failed closed (engine, resource
 * resolver, audit, ...).
 */
export type AuditOutcome = 'allowed' | 'denied' | 'unauthenticated' | 'error'

/** One hop of the delegation chain, outermost (the direct caller) first. */
export interface AuditDelegationHop {
  /** Subject of the hop (workload or user id). */
  id: string
  /** Kind of subject when known, e.g. `workload`, `user`, `agent`. */
  type?: string | undefined
}

/** sha256 digests of the credentials that arrived; raw tokens never reach an audit record. */
export interface AuditTokenDigests {
  /** Digest of the workload token (`sha256:<base64url>`). */
  workload?: string | undefined
  /** Digest of the actor token (`sha256:<base64url>`). */
  actor?: string | undefined
}

/** The `checkResources` call as the engine saw it, in the shape of the Cerbos decision log. */
export interface AuditCheckResources {
  /** The request given to the engine (attributes filtered by the audit configuration). */
  inputs: CheckResourcesRequest
  /** The engine's answer, when it produced one. */
  outputs?: CheckResourcesResponse | undefined
  /** Why the engine failed, when it did (a meshguard error code). */
  error?: string | undefined
}

/** One (resource, action) on which a candidate (shadow) policy set decided otherwise than the live one. */
export interface AuditShadowDifference {
  resource: { kind: string; id: string }
  action: string
  live: Effect
  /** The live deciding policy. */
  livePolicy?: string | undefined
  candidate: Effect
  /** The candidate's deciding policy and rule. */
  candidatePolicy?: string | undefined
  candidateRule?: string | undefined
}

/** What a shadow (dry-run) policy set said about a decision it disagreed with. The live decision was enforced. */
export interface AuditShadow {
  /** Digest of the candidate set. */
  candidateDigest: string
  /** Every disagreement of this check (bounded). */
  differences: AuditShadowDifference[]
}

/**
 * One audit record: one per authorization decision and one per authentication failure.
 * Serialised as one JSON line by the stream sinks. Field names are stable.
 */
export interface AuditRecord {
  /** Record kind. */
  kind: AuditRecordKind
  /** Unique id of this authorization (also returned in problem bodies as the decision id). */
  callId: string
  /** ISO-8601 time the record was made. */
  timestamp: string
  /** The service that decided (this service's workload id). */
  service: string
  /** The calling workload, when identified. */
  workloadId?: string | undefined
  /** The user or agent the caller acts for, when present. */
  actorId?: string | undefined
  /** The delegation chain, direct caller first. */
  delegation?: readonly AuditDelegationHop[] | undefined
  /** The end-to-end transaction id carried between hops. */
  transactionId?: string | undefined
  /** W3C trace id of the span in which the decision was made. */
  traceId?: string | undefined
  /** The primary resource checked. */
  resource?: { kind: string; id: string } | undefined
  /** The primary action checked. */
  action?: string | undefined
  /**
   * On list routes: the kind of the query plan (`KIND_ALWAYS_ALLOWED`, `KIND_ALWAYS_DENIED` or
   * `KIND_CONDITIONAL`); `resource` then names the kind with id `_`.
   */
  planKind?: 'KIND_ALWAYS_ALLOWED' | 'KIND_ALWAYS_DENIED' | 'KIND_CONDITIONAL' | undefined
  /** How the authorization ended. */
  outcome: AuditOutcome
  /** Effect of the primary action, for decisions. */
  effect?: Effect | undefined
  /** The policy that decided the primary action (Cerbos `matchedPolicy`). */
  policy?: string | undefined
  /** The scope of the deciding rule (`''` for the root scope). */
  scope?: string | undefined
  /** The rule that decided (within `policy`), when the engine names it (the embedded engine does). */
  rule?: string | undefined
  /** snake_case reason for a denial or failure (`aud_mismatch`, `pdp_timeout`, `denied`, ...). */
  reason?: string | undefined
  /** meshguard error code for failures. */
  errorCode?: MeshguardErrorCode | undefined
  /** For identity failures: which of the request's tokens the failure is about. */
  tokenKind?: TokenKind | undefined
  /** Digest of the policy set in force (sha256 hex), for drift reporting. */
  policyDigest?: string | undefined
  /** Engine kind that decided. */
  engine?: 'embedded' | 'remote' | undefined
  /** Cerbos-style `checkResources` inputs/outputs (decisions only). */
  checkResources?: AuditCheckResources | undefined
  /** Cerbos-style audit trail: policies that took part in the decision. */
  auditTrail?: { effectivePolicies: Record<string, { attributes?: Record<string, string> }> } | undefined
  /**
   * On denials (when the guard explains them): why, rule by rule. Attribute values are masked by
   * the log's `attributes` filters like `checkResources.inputs`.
   */
  explanation?: DecisionExplanation | undefined
  /** When a shadow policy set disagreed with this decision (never changes `outcome`). */
  shadow?: AuditShadow | undefined
  /** Digests of the credentials presented; never the tokens. */
  tokenDigests?: AuditTokenDigests | undefined
  /** Free-form, low-volume context the service adds (HTTP method, route pattern, ...). */
  metadata?: Record<string, string> | undefined
}
