import {
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  createNoopMeter,
  isSpanContextValid,
  metrics,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api'
import {
  ATTR_AUTHZ_ACTION,
  ATTR_AUTHZ_CALL_ID,
  ATTR_AUTHZ_DECISION,
  ATTR_AUTHZ_DELEGATION_DEPTH,
  ATTR_AUTHZ_ENGINE,
  ATTR_AUTHZ_OUTCOME,
  ATTR_AUTHZ_POLICY_DIGEST,
  ATTR_AUTHZ_POLICY_NAME,
  ATTR_AUTHZ_POLICY_SCOPE,
  ATTR_AUTHZ_POLICY_VERSION,
  ATTR_AUTHZ_REASON,
  ATTR_AUTHZ_RESOURCE_ID,
  ATTR_AUTHZ_PLAN_KIND,
  ATTR_AUTHZ_RESOURCE_KIND,
  ATTR_AUTHZ_TOKEN_ISSUER,
  ATTR_AUTHZ_TOKEN_KIND,
  ATTR_AUTHZ_TRANSACTION_ID,
  ATTR_AUTHZ_WORKLOAD_ID,
  ATTR_ERROR_TYPE,
  ATTR_USER_ID,
  EVENT_AUTHZ_TOKEN_REJECTED,
  EVENT_AUTHZ_TOKEN_VERIFIED,
  METRIC_AUDIT_DROPPED,
  METRIC_SHADOW_DISAGREEMENTS,
  ATTR_AUTHZ_SHADOW_LIVE,
  ATTR_AUTHZ_SHADOW_CANDIDATE,
  METRIC_AUTHZ_CHECK_DURATION,
  METRIC_AUTHZ_DECISIONS,
  METRIC_JWKS_REFRESHES,
  METRIC_JWKS_STALE,
  METRIC_POLICY_DIGEST,
  METRIC_POLICY_RELOADS,
  TELEMETRY_SCOPE_NAME,
  TELEMETRY_SCOPE_VERSION,
} from './attributes.js'

/** How an authorization ended (same values as the audit record's `outcome`). */
export type AuthorizationDecision = 'allowed' | 'denied' | 'unauthenticated' | 'error'

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /** Tracer provider to use. @defaultValue the global one (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider | undefined
  /**
   * Meter provider to use. @defaultValue the global one at the time `createTelemetry` runs
   * (register the SDK first, or inject it).
   */
  meterProvider?: MeterProvider | undefined
  /** Put the end user's id (`user.id`, personal data) on spans. @defaultValue false */
  recordUserId?: boolean | undefined
}

/** What is known when an authorization starts. */
export interface AuthorizationStart {
  /** Resource kind; part of the span name `authorize <kind>`. Use `unknown` before it is resolved. */
  resourceKind: string
  /** Primary action. */
  action?: string | undefined
  /** Resource id (span attribute only). */
  resourceId?: string | undefined
  /** Id shared with the audit record. */
  callId?: string | undefined
  /** Engine kind deciding. */
  engine?: 'embedded' | 'remote' | undefined
  /** Parent context. @defaultValue the active context */
  parent?: Context | undefined
}

/** What is known when an authorization ends. */
export interface AuthorizationEnd {
  /** How it ended. */
  decision: AuthorizationDecision
  /** Reason code for denials and failures. */
  reason?: string | undefined
  /** meshguard error code, for `error`/`unauthenticated`. */
  errorCode?: string | undefined
  /** Resource kind, if only known after the span started (metrics use it; the name stays). */
  resourceKind?: string | undefined
  /** Resource id, if only known after the span started. */
  resourceId?: string | undefined
  /** On list routes: the query plan's kind. */
  planKind?: string | undefined
  /** Primary action, if only known after the span started. */
  action?: string | undefined
  /** Deciding policy. */
  policy?: string | undefined
  /** Deciding policy's version. */
  policyVersion?: string | undefined
  /** Deciding scope. */
  scope?: string | undefined
  /** Digest of the policy set in force. */
  policyDigest?: string | undefined
  /** The calling workload. */
  workloadId?: string | undefined
  /** The end user (only recorded with `recordUserId`). */
  userId?: string | undefined
  /** Transaction id. */
  transactionId?: string | undefined
  /** Length of the delegation chain. */
  delegationDepth?: number | undefined
}

/** One authorization in flight: a span plus the clock for the latency histogram. */
export interface AuthorizationSpan {
  /** The span (non-recording when no SDK is installed). */
  readonly span: Span
  /** A context holding the span, for `context.with(...)` around the engine call or the handler. */
  readonly context: Context
  /** The W3C trace id, when the span context is valid (an SDK is installed or a parent exists). */
  readonly traceId: string | undefined
  /** Adds an `authz.token.verified` event. */
  tokenVerified(kind: 'workload' | 'actor', issuer?: string): void
  /** Adds an `authz.token.rejected` event with the reason. */
  tokenRejected(kind: 'workload' | 'actor', reason: string, issuer?: string): void
  /** Ends the span (idempotent) and records the decision counter and latency histogram. */
  end(result: AuthorizationEnd): void
  /**
   * False when nothing reads what `end` is given beyond its `decision` (the span does not record and
   * no metrics SDK is installed), so callers may skip building the rest. Absent means true.
   */
  readonly observed?: boolean | undefined
}

/** What a policy-digest gauge observes. */
export interface PolicyDigestSource {
  /** Digest of the policy set in force, if known. */
  readonly policyDigest?: string | undefined
  /** Engine kind. */
  readonly kind: 'embedded' | 'remote'
}

/** The telemetry handle the pipeline, identity, audit and reload parts report through. */
export interface Telemetry {
  /** Starts the span `authorize <resourceKind>`. */
  startAuthorization(start: AuthorizationStart): AuthorizationSpan
  /** Counts a JWKS refresh. */
  recordJwksRefresh(outcome: 'success' | 'failure', issuer?: string): void
  /** Counts a verification served from a stale JWKS. */
  recordJwksStale(issuer?: string): void
  /** Counts dropped audit records. */
  recordAuditDrop(count?: number): void
  /** Counts a policy reload. */
  recordReload(outcome: 'success' | 'failure', errorType?: string): void
  /**
   * Counts one (resource, action) on which a shadow policy set disagreed with the live one.
   * Optional, so telemetry doubles written before shadow policies existed still fit.
   */
  recordShadowDisagreement?(disagreement: { policy: string | undefined; resourceKind: string; action: string; live: string; candidate: string }): void
  /** Reports the engine's policy digest through the `meshguard.policy.digest` gauge; returns an unsubscribe. */
  observePolicyDigest(source: PolicyDigestSource): () => void
}

// performance.now() is a plain double: cheaper than hrtime.bigint() on the per-request path.
const seconds = (startMs: number): number => (performance.now() - startMs) / 1000

/** Drops undefined values (a for-in loop: this runs on every request). */
function defined(attributes: Record<string, string | number | undefined>): Attributes {
  const out: Attributes = {}
  for (const key in attributes) {
    const value = attributes[key]
    if (value !== undefined) out[key] = value
  }
  return out
}

interface AuthorizationInstruments {
  readonly decisions: Counter
  readonly duration: Histogram
  /** False when both are the API's no-op instruments (no SDK): nothing to build attributes for. */
  readonly measuring: boolean
  readonly recordUserId: boolean
}

/** Span names by resource kind, so a request does not build the same string again. */
const SPAN_NAMES = 256
const spanNames = new Map<string, string>()

function spanNameOf(resourceKind: string): string {
  let name = spanNames.get(resourceKind)
  if (name === undefined) {
    name = `authorize ${resourceKind}`
    if (spanNames.size < SPAN_NAMES) spanNames.set(resourceKind, name)
  }
  return name
}

/** One authorization in flight. A class, not closures: it is allocated on every request. */
class InFlightAuthorization implements AuthorizationSpan {
  readonly span: Span
  readonly #parent: Context
  readonly #resourceKind: string
  readonly #instruments: AuthorizationInstruments
  readonly #startMs: number
  readonly #recording: boolean
  #context: Context | undefined
  #ended = false

  constructor(span: Span, parent: Context, resourceKind: string, instruments: AuthorizationInstruments) {
    this.span = span
    this.#parent = parent
    this.#resourceKind = resourceKind
    this.#instruments = instruments
    this.#startMs = instruments.measuring ? performance.now() : 0
    this.#recording = span.isRecording()
  }

  get context(): Context {
    // Built on first use: most callers never need it.
    this.#context ??= trace.setSpan(this.#parent, this.span)
    return this.#context
  }

  get observed(): boolean {
    return this.#recording || this.#instruments.measuring
  }

  get traceId(): string | undefined {
    const spanContext = this.span.spanContext()
    return isSpanContextValid(spanContext) ? spanContext.traceId : undefined
  }

  tokenVerified(kind: 'workload' | 'actor', issuer?: string): void {
    if (this.#recording) {
      this.span.addEvent(EVENT_AUTHZ_TOKEN_VERIFIED, defined({ [ATTR_AUTHZ_TOKEN_KIND]: kind, [ATTR_AUTHZ_TOKEN_ISSUER]: issuer }))
    }
  }

  tokenRejected(kind: 'workload' | 'actor', reason: string, issuer?: string): void {
    if (this.#recording) {
      this.span.addEvent(
        EVENT_AUTHZ_TOKEN_REJECTED,
        defined({ [ATTR_AUTHZ_TOKEN_KIND]: kind, [ATTR_AUTHZ_REASON]: reason, [ATTR_AUTHZ_TOKEN_ISSUER]: issuer }),
      )
    }
  }

  end(result: AuthorizationEnd): void {
    if (this.#ended) return
    this.#ended = true
    const kind = result.resourceKind ?? this.#resourceKind
    if (this.#instruments.measuring) {
      const durationAttributes: Attributes = { [ATTR_AUTHZ_DECISION]: result.decision, [ATTR_AUTHZ_RESOURCE_KIND]: kind }
      const decisionAttributes: Attributes = { ...durationAttributes }
      if (result.reason !== undefined) decisionAttributes[ATTR_AUTHZ_REASON] = result.reason
      this.#instruments.decisions.add(1, decisionAttributes)
      this.#instruments.duration.record(seconds(this.#startMs), durationAttributes)
    }
    if (this.#recording) {
      this.span.setAttributes({
        [ATTR_AUTHZ_DECISION]: result.decision,
        [ATTR_AUTHZ_REASON]: result.reason,
        [ATTR_AUTHZ_RESOURCE_KIND]: kind,
        [ATTR_AUTHZ_RESOURCE_ID]: result.resourceId,
        [ATTR_AUTHZ_PLAN_KIND]: result.planKind,
        [ATTR_AUTHZ_ACTION]: result.action,
        [ATTR_AUTHZ_POLICY_NAME]: result.policy,
        [ATTR_AUTHZ_POLICY_VERSION]: result.policyVersion,
        [ATTR_AUTHZ_POLICY_SCOPE]: result.scope,
        [ATTR_AUTHZ_POLICY_DIGEST]: result.policyDigest,
        [ATTR_AUTHZ_WORKLOAD_ID]: result.workloadId,
        [ATTR_AUTHZ_TRANSACTION_ID]: result.transactionId,
        [ATTR_AUTHZ_DELEGATION_DEPTH]: result.delegationDepth,
        [ATTR_USER_ID]: this.#instruments.recordUserId ? result.userId : undefined,
        [ATTR_ERROR_TYPE]: result.decision === 'error' ? (result.errorCode ?? 'ERR_AUTHZ_INTERNAL') : undefined,
      })
      // A denial is a correct answer, not a span error; only failures mark the span.
      if (result.decision === 'error') this.span.setStatus({ code: SpanStatusCode.ERROR, message: result.reason ?? 'error' })
    }
    this.span.end()
  }
}

/**
 * Creates the telemetry handle. Without an OpenTelemetry SDK every call is a no-op on
 * non-recording spans and no-op instruments; attributes are only built for recording spans.
 */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    TELEMETRY_SCOPE_NAME,
    TELEMETRY_SCOPE_VERSION,
  )
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
    TELEMETRY_SCOPE_NAME,
    TELEMETRY_SCOPE_VERSION,
  )
  const decisions = meter.createCounter(METRIC_AUTHZ_DECISIONS, {
    description: 'Authorizations by decision, reason and resource kind',
  })
  const duration = meter.createHistogram(METRIC_AUTHZ_CHECK_DURATION, {
    description: 'Time to authorize one request (identity and engine)',
    unit: 's',
  })
  const jwksRefreshes = meter.createCounter(METRIC_JWKS_REFRESHES, { description: 'JWKS refreshes by outcome' })
  const jwksStale = meter.createCounter(METRIC_JWKS_STALE, {
    description: 'Token verifications served from a stale JWKS',
  })
  const auditDropped = meter.createCounter(METRIC_AUDIT_DROPPED, { description: 'Audit records dropped' })
  const shadowDisagreements = meter.createCounter(METRIC_SHADOW_DISAGREEMENTS, { description: 'Decisions a shadow policy set would have made otherwise' })
  const reloads = meter.createCounter(METRIC_POLICY_RELOADS, { description: 'Policy reloads by outcome' })
  const digestGauge = meter.createObservableGauge(METRIC_POLICY_DIGEST, {
    description: 'Policy set in force (value 1, digest as attribute)',
  })
  const recordUserId = options.recordUserId === true
  // The API's no-op meter hands out shared instruments; seeing them means no SDK will ever read these.
  const noop = createNoopMeter()
  const measuring = decisions !== noop.createCounter(METRIC_AUTHZ_DECISIONS) || duration !== noop.createHistogram(METRIC_AUTHZ_CHECK_DURATION)

  const instruments: AuthorizationInstruments = { decisions, duration, measuring, recordUserId }
  return {
    startAuthorization(start) {
      const parent = start.parent ?? otelContext.active()
      // undefined attribute values are ignored by spans, so no filtering is needed here.
      const span = tracer.startSpan(
        spanNameOf(start.resourceKind),
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            [ATTR_AUTHZ_RESOURCE_KIND]: start.resourceKind,
            [ATTR_AUTHZ_ACTION]: start.action,
            [ATTR_AUTHZ_RESOURCE_ID]: start.resourceId,
            [ATTR_AUTHZ_CALL_ID]: start.callId,
            [ATTR_AUTHZ_ENGINE]: start.engine,
          },
        },
        parent,
      )
      return new InFlightAuthorization(span, parent, start.resourceKind, instruments)
    },
    recordJwksRefresh(outcome, issuer) {
      jwksRefreshes.add(1, defined({ [ATTR_AUTHZ_OUTCOME]: outcome, [ATTR_AUTHZ_TOKEN_ISSUER]: issuer }))
    },
    recordJwksStale(issuer) {
      jwksStale.add(1, defined({ [ATTR_AUTHZ_TOKEN_ISSUER]: issuer }))
    },
    recordAuditDrop(count = 1) {
      auditDropped.add(count)
    },
    recordShadowDisagreement({ policy, resourceKind, action, live, candidate }) {
      shadowDisagreements.add(
        1,
        defined({ [ATTR_AUTHZ_POLICY_NAME]: policy, [ATTR_AUTHZ_RESOURCE_KIND]: resourceKind, [ATTR_AUTHZ_ACTION]: action, [ATTR_AUTHZ_SHADOW_LIVE]: live, [ATTR_AUTHZ_SHADOW_CANDIDATE]: candidate }),
      )
    },
    recordReload(outcome, errorType) {
      reloads.add(1, defined({ [ATTR_AUTHZ_OUTCOME]: outcome, [ATTR_ERROR_TYPE]: errorType }))
    },
    observePolicyDigest(source) {
      const callback = (result: { observe(value: number, attributes?: Attributes): void }): void => {
        if (source.policyDigest === undefined) return
        result.observe(1, { [ATTR_AUTHZ_POLICY_DIGEST]: source.policyDigest, [ATTR_AUTHZ_ENGINE]: source.kind })
      }
      digestGauge.addCallback(callback)
      return () => digestGauge.removeCallback(callback)
    },
  }
}
