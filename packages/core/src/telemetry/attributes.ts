/**
 * Every telemetry name meshguard emits, defined once. OpenTelemetry semantic conventions have no
 * authorization namespace, so ours live under `authz.*`; `error.type` is the stable semconv
 * attribute and `user.id` is copied from the incubating set. Documented in
 * docs/reference/telemetry.md (keep the table in step with this file).
 */

/** Instrumentation scope name of the tracer and meter. */
export const TELEMETRY_SCOPE_NAME = '@meshguard/core'
/** Instrumentation scope version. */
export const TELEMETRY_SCOPE_VERSION = '0.1.0'

/** The action checked (the primary one, for multi-action checks). */
export const ATTR_AUTHZ_ACTION = 'authz.action'
/** The resource kind checked (bounded by the policy set). */
export const ATTR_AUTHZ_RESOURCE_KIND = 'authz.resource.kind'
/** The resource id checked (span attribute only: unbounded cardinality). */
export const ATTR_AUTHZ_RESOURCE_ID = 'authz.resource.id'
/** The query plan's kind on list routes (`KIND_ALWAYS_ALLOWED` | `KIND_ALWAYS_DENIED` | `KIND_CONDITIONAL`). */
export const ATTR_AUTHZ_PLAN_KIND = 'authz.plan.kind'
/** How the authorization ended: `allowed` | `denied` | `unauthenticated` | `error`. */
export const ATTR_AUTHZ_DECISION = 'authz.decision'
/** snake_case reason of a denial or failure (`denied`, `aud_mismatch`, `pdp_timeout`, ...). */
export const ATTR_AUTHZ_REASON = 'authz.reason'
/** The policy that decided (Cerbos `matchedPolicy`). */
export const ATTR_AUTHZ_POLICY_NAME = 'authz.policy.name'
/** The policy version of the deciding policy. */
export const ATTR_AUTHZ_POLICY_VERSION = 'authz.policy.version'
/** The scope of the deciding rule. */
export const ATTR_AUTHZ_POLICY_SCOPE = 'authz.policy.scope'
/** On shadow disagreements: the live effect (`EFFECT_ALLOW` | `EFFECT_DENY`). */
export const ATTR_AUTHZ_SHADOW_LIVE = 'authz.shadow.live'
/** On shadow disagreements: the effect the candidate policy set gave. */
export const ATTR_AUTHZ_SHADOW_CANDIDATE = 'authz.shadow.candidate'
/** sha256 digest of the policy set in force. */
export const ATTR_AUTHZ_POLICY_DIGEST = 'authz.policy.digest'
/** Engine kind: `embedded` | `remote`. */
export const ATTR_AUTHZ_ENGINE = 'authz.engine'
/** Id of this authorization, the same as the audit record's `callId`. */
export const ATTR_AUTHZ_CALL_ID = 'authz.call_id'
/** End-to-end transaction id carried between hops. */
export const ATTR_AUTHZ_TRANSACTION_ID = 'authz.transaction_id'
/** The calling workload id (a service name, not personal data). */
export const ATTR_AUTHZ_WORKLOAD_ID = 'authz.workload.id'
/** Length of the delegation chain. */
export const ATTR_AUTHZ_DELEGATION_DEPTH = 'authz.delegation.depth'
/** Token kind on token events: `workload` | `actor`. */
export const ATTR_AUTHZ_TOKEN_KIND = 'authz.token.kind'
/** Token issuer on token events. */
export const ATTR_AUTHZ_TOKEN_ISSUER = 'authz.token.issuer'
/** Outcome of an operation counted by a metric: `success` | `failure` (reloads, JWKS refreshes). */
export const ATTR_AUTHZ_OUTCOME = 'authz.outcome'
/** Stable semconv: the class of error that ended an operation (our error code). */
export const ATTR_ERROR_TYPE = 'error.type'
/**
 * Incubating semconv `user.id`: the end user the caller acts for. Personal data, so only set when
 * telemetry is created with `recordUserId: true`.
 * @experimental
 */
export const ATTR_USER_ID = 'user.id'

/** Span event: a token was verified. */
export const EVENT_AUTHZ_TOKEN_VERIFIED = 'authz.token.verified'
/** Span event: a token was rejected. */
export const EVENT_AUTHZ_TOKEN_REJECTED = 'authz.token.rejected'

/** Counter: authorizations, by decision, reason and resource kind. */
export const METRIC_AUTHZ_DECISIONS = 'meshguard.authz.decisions'
/** Histogram (seconds): time to authorize one request (identity + engine). */
export const METRIC_AUTHZ_CHECK_DURATION = 'meshguard.authz.check.duration'
/** Counter: JWKS refreshes, by outcome and issuer. */
export const METRIC_JWKS_REFRESHES = 'meshguard.jwks.refreshes'
/** Counter: verifications served from a stale JWKS during a refresh failure. */
export const METRIC_JWKS_STALE = 'meshguard.jwks.stale'
/** Counter: audit records dropped (buffer full or log closed). */
export const METRIC_AUDIT_DROPPED = 'meshguard.audit.dropped'
/** Counter: checks on which a shadow (candidate) policy set decided otherwise than the live one, by policy, resource kind and action. */
export const METRIC_SHADOW_DISAGREEMENTS = 'meshguard.shadow.disagreements'
/** Counter: policy reloads, by outcome. */
export const METRIC_POLICY_RELOADS = 'meshguard.policy.reloads'
/** Observable gauge: 1 per policy set in force, with its digest and engine kind as attributes. */
export const METRIC_POLICY_DIGEST = 'meshguard.policy.digest'
