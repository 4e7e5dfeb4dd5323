/**
 * Public types of the framework-neutral guard pipeline. Adapters build a {@link RequestView}, call
 * `guard.authorize(view, route)` and translate the {@link GuardOutcome} into their framework's idiom.
 */
import type { AuditLog } from '../audit/index.js'
import type { MeshguardError, TokenKind } from '../errors.js'
import type { VerifiedCaller } from '../identity/caller.js'
import type { HeaderView } from '../identity/headers.js'
import type { ActorRequirement } from '../identity/verify/types.js'
import type { Telemetry } from '../telemetry/index.js'
import type { ShadowOptions } from './shadow.js'
import type { TxnTokenExchange } from '../identity/mint/txn-token-exchange.js'
import type { EdgeVerifierOptions } from '../identity/verify/edge-verifier.js'
import type { PlanSubject } from '../engine/plan/predicate.js'
import type { PlanFilter, PlanFilterKind, PlanResourcesResponse } from '../engine/plan/types.js'
import type { CheckResourcesRequest, DecisionEngine, DecisionExplanation, Effect, OutputEntry, Principal, Resource } from '../types.js'

/**
 * The small, framework-neutral picture of one request that an adapter hands to the guard.
 *
 * @typeParam Req - the framework's own request object, handed to user resolvers unchanged.
 */
export interface RequestView<Req = unknown> {
  /** HTTP method, upper case. */
  method: string
  /** Request path without the query string, when the adapter has it at hand. Never used for decisions. */
  path?: string | undefined
  /**
   * The request target as received (path and query, before any router rewrote it, e.g. `req.url`).
   * At the edge, a DPoP proof's `htu` is checked against the edge's public origin plus this target's
   * path; on a WIMSE callee, a WPT's `aud` against a configured origin plus this path. Adapters set it.
   */
  target?: string | undefined
  /** The route pattern (`/reviews/:id`), when the framework knows it; low-cardinality, for spans. */
  route?: string | undefined
  /** Headers as received; see {@link HeaderView}. */
  headers: HeaderView
  /** Route parameters (Express 5 wildcards give arrays; only a string `id` is used by the pipeline). */
  params: Readonly<Record<string, unknown>>
  /** Parsed query string, when the adapter offers it (kept lazy: nothing in the pipeline needs it). */
  query?: Record<string, unknown> | undefined
  /** Parsed body, when the framework has parsed it at this point. */
  body?: unknown
  /** The framework's request, passed to resource and action resolvers. */
  request: Req
}

/** A claim value a requirement can name: a JSON scalar. */
export type ClaimValue = string | number | boolean

/**
 * One claim's requirement:
 * - a value: the claim equals it;
 * - a list: the claim equals one of them;
 * - `{ includes }`: the claim is an array holding the value (or every value listed), e.g. `amr`;
 * - `{ maxAge }` (on `auth_time` only): the user authenticated at most this many seconds ago.
 *
 * A failed `acr` or `auth_time` requirement asks for step-up (RFC 9470, 401
 * `insufficient_user_authentication`); any other is a 403 `insufficient_claims`.
 */
export type ClaimRequirement =
  | ClaimValue
  | readonly ClaimValue[]
  | { readonly includes: ClaimValue | readonly ClaimValue[] }
  | { readonly maxAge: number }

/** A route's claim requirements, by claim name; all must hold. */
export type ClaimsRequirement = Readonly<Record<string, ClaimRequirement>>

/** Computes the resource of a request: from params/body, or through an async loader (e.g. a database). */
export type ResourceResolver<Req = unknown> = (request: Req) => Resource | Promise<Resource>

/** Computes the action of a request, e.g. from its method. */
export type ActionResolver<Req = unknown> = (request: Req) => string

/**
 * How one route is protected. Adapters accept exactly this shape with their request type plugged in.
 *
 * @typeParam Req - the framework's request type seen by resolvers.
 */
export interface RouteAuthorization<Req = unknown> {
  /**
   * The resource: a kind (the id is then the `id` route parameter, or `_` when there is none), or a
   * function / async loader returning the full resource with the attributes the policy needs.
   */
  resource: string | ResourceResolver<Req>
  /** The action checked on the resource (`read`, `update`, ...), or a function of the request. */
  action: string | ActionResolver<Req>
  /**
   * Whether the end user (actor token) must, must not, or may accompany the workload token.
   * @defaultValue the guard's `defaultActor` (`'optional'` unless configured)
   */
  actor?: ActorRequirement | undefined
  /**
   * Scopes (purposes) the request must hold, all of them: its Txn-Token's `scope`, or in access-token
   * mode the access token's `scope` claim. Missing → 403 `insufficient_scope` with
   * `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`. @defaultValue none
   */
  scope?: string | readonly string[] | undefined
  /**
   * Requirements on the verified actor's claims, all of them: a value, a list (one of), `{ includes }`
   * (array claims such as `amr`), `{ maxAge }` on `auth_time`. Checked when the route is registered
   * (a bad one throws `ConfigError`), then per request after verification and before the policy:
   * unmet → 403 `insufficient_claims`; an unmet `acr` / `auth_time` alone → 401
   * `insufficient_user_authentication` with `acr_values` / `max_age` (RFC 9470). @defaultValue none
   * @example `{ acr: 'urn:example:mfa', amr: { includes: 'mfa' }, tenant: ['a', 'b'] }`
   */
  claims?: ClaimsRequirement | undefined
}

/**
 * How a list route (`GET /reviews`) is protected: the caller is verified exactly as for
 * {@link RouteAuthorization}, then the engine plans which resources of `resource` the verified
 * principal may `action` (Cerbos PlanResources), and the handler gets the plan.
 */
export interface ListRouteAuthorization {
  /** The resource kind listed, e.g. `review`. */
  resource: string
  /** The action every listed resource must allow, e.g. `read`. */
  action: string
  /** @defaultValue the guard's `defaultActor` (`'optional'` unless configured) */
  actor?: ActorRequirement | undefined
  /**
   * Principal roles (the calling workload's) entitled to the list itself: for them a plan that
   * denies every resource answers an empty list (the handler runs with `plan.kind`
   * `KIND_ALWAYS_DENIED`); any other caller gets 403 `denied`.
   * @defaultValue none: an always-denied plan is a 403 for everyone
   */
  emptyForRoles?: readonly string[] | undefined
  /**
   * Scopes (purposes) the request must hold, all of them: its Txn-Token's `scope`, or in access-token
   * mode the access token's `scope` claim. Missing → 403 `insufficient_scope` with
   * `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`. @defaultValue none
   */
  scope?: string | readonly string[] | undefined
  /**
   * Requirements on the verified actor's claims, all of them: a value, a list (one of), `{ includes }`
   * (array claims such as `amr`), `{ maxAge }` on `auth_time`. Checked when the route is registered
   * (a bad one throws `ConfigError`), then per request after verification and before the policy:
   * unmet → 403 `insufficient_claims`; an unmet `acr` / `auth_time` alone → 401
   * `insufficient_user_authentication` with `acr_values` / `max_age` (RFC 9470). @defaultValue none
   * @example `{ acr: 'urn:example:mfa', amr: { includes: 'mfa' }, tenant: ['a', 'b'] }`
   */
  claims?: ClaimsRequirement | undefined
}

/**
 * The query plan a list handler receives as `req.meshguard.plan`. Hand it (or its `filter`) to
 * `planToSql` from `@meshguard/kysely`, or filter rows in memory with {@link ListPlan.keep}.
 */
export interface ListPlan {
  /** The decision id (also in the audit record and span). */
  readonly id: string
  /** `KIND_ALWAYS_ALLOWED`, `KIND_ALWAYS_DENIED` or `KIND_CONDITIONAL`. */
  readonly kind: PlanFilterKind
  /** The resource kind planned for. */
  readonly resource: string
  /** The action planned for. */
  readonly action: string
  /** The plan's filter, Cerbos-exact. */
  readonly filter: PlanFilter
  /** The engine's whole PlanResources answer (for `toCerbosSdkPlan` and Cerbos's ORM adapters). */
  readonly response: PlanResourcesResponse
  /**
   * Whether the plan admits one resource (fields as `request.resource` has them).
   * @throws PlanOperatorError when the plan uses an operator CEL cannot express (never a wider answer)
   */
  allows(resource: PlanSubject): boolean
  /**
   * The items the plan admits, in order. `subjectOf` maps an item to the resource the policy sees;
   * by default the item is that resource (`{ id, attr }`).
   * @throws PlanOperatorError as {@link ListPlan.allows}
   */
  keep<T>(items: readonly T[], subjectOf?: (item: T) => PlanSubject): T[]
}

/** Options for routes that only need a verified caller, without a policy check. */
export interface AuthenticateOptions {
  /** @defaultValue the guard's `defaultActor` */
  actor?: ActorRequirement | undefined
  /** Scopes the request must hold (at the edge: the purpose to get a Txn-Token for). @defaultValue none */
  scope?: string | readonly string[] | undefined
  /**
   * Requirements on the verified actor's claims, as a route's `claims` (unmet: 403
   * `insufficient_claims`, or the RFC 9470 step-up 401 for `acr` / `auth_time`). @defaultValue none
   */
  claims?: ClaimsRequirement | undefined
}

/**
 * What the pipeline needs from a verified caller: the principal handed to the engine, and what the
 * audit record names. The identity module's `VerifiedCaller` satisfies it.
 */
export interface VerifiedCallerLike {
  /** `{ id: <workload id>, roles, attr: { ...granted attributes, act: { user } } }`. */
  readonly principal: Principal
  /** The end user or agent the workload acts for. */
  readonly actor?: { readonly id: string; readonly type?: string | undefined } | undefined
  /** The end-to-end transaction id of the call chain. */
  readonly transactionId?: string | undefined
  /** Delegation chains, for the audit record only. */
  readonly delegation?: { readonly workloads: readonly string[]; readonly actorChain: readonly string[] } | undefined
  /** sha256 (base64url) digests of the presented tokens. */
  readonly tokenDigests?: { readonly workload?: string | undefined; readonly actor?: string | undefined } | undefined
}

/**
 * What the pipeline needs from identity: verify the credentials in a header view. Resolves to a
 * verified caller or rejects with an `IdentityMissingError` / `IdentityError` (401) or an
 * `UnavailableError` (503, e.g. JWKS down). `createIdentityVerifier` returns one.
 */
export interface IdentityVerifierLike<Caller extends VerifiedCallerLike = VerifiedCaller> {
  verify(headers: HeaderView, options: { actor: ActorRequirement; newTransactionId?: string; target?: string | undefined }): Promise<Caller>
  /** Optional: the same answer, synchronously when it can be (throws where `verify` rejects). */
  verifyNow?(headers: HeaderView, options: { actor: ActorRequirement; newTransactionId?: string; target?: string | undefined }): Caller | Promise<Caller>
}

/**
 * Runs a function with the verified caller as the current one, so outbound calls made by the handler
 * find the actor to forward. Core's `callerContext` is one.
 */
export interface CallerContextLike<Caller extends VerifiedCallerLike = VerifiedCaller> {
  run<T>(caller: Caller, fn: () => T): T
}

/**
 * An RFC 9457 `application/problem+json` body. Holds the reason code and decision id, never tokens,
 * policy internals or stack traces.
 */
export interface ProblemDetails {
  /** A URI naming the problem kind, e.g. `urn:meshguard:problem:identity-invalid`. */
  type: string
  title: string
  status: number
  detail: string
  /** The stable meshguard error code. */
  code: string
  /** The snake_case reason, e.g. `aud_mismatch`. */
  reason: string
  /** Correlates with the audit record and span. */
  decisionId: string
  /** For identity failures (401): which of the request's tokens it is about, when known. */
  tokenKind?: TokenKind | undefined
  /** Extension members added by a `problem.customize` hook. */
  [extension: string]: unknown
}

/**
 * Lets a service shape its own error responses. Runs inside a guard: if it throws, the default body is
 * sent (the status never changes; a failure stays a failure).
 */
export type ProblemCustomizer = (problem: ProblemDetails, error: MeshguardError) => ProblemDetails

/** The outcome of a successful policy decision. */
export interface GuardDecision {
  /** The decision id (also in the audit record and span). */
  readonly id: string
  readonly allowed: true
  readonly effect: Effect
  readonly action: string
  readonly resource: Resource
  /** The matched policy, when the engine reported it. */
  readonly policy?: string | undefined
  /** The rule that decided, when the engine reported it (the embedded engine does). */
  readonly rule?: string | undefined
  /** What the policy's rules output for this check (`output.when.ruleActivated` / `conditionNotMet`). */
  readonly outputs: readonly OutputEntry[]
}

/** The decision on one action of a handler check. */
export interface ActionDecision {
  /** Whether the policy allows the action. */
  readonly allowed: boolean
  readonly effect: Effect
  /** The deciding policy (`NO_MATCH` when none did), when the engine reported it. */
  readonly policy?: string | undefined
  /** The deciding rule, when the engine reported it. */
  readonly rule?: string | undefined
  /** The scope of the deciding rule, when the engine reported it. */
  readonly scope?: string | undefined
}

/** The decisions on one resource of a handler check. */
export interface ResourceDecisions {
  /** The resource as checked. */
  readonly resource: { readonly kind: string; readonly id: string }
  /** One decision per action asked. */
  readonly actions: Readonly<Record<string, ActionDecision>>
  /** What the policy's rules output for this resource (every action asked). */
  readonly outputs: readonly OutputEntry[]
}

/**
 * What `req.meshguard.check(resources, actions)` answers: a decision for every action on every
 * resource, in the order asked. A denial is an answer, not an error; the promise rejects only when
 * the check could not be made (a `MeshguardError`, never an allow).
 */
export interface HandlerCheckResult {
  /** The decision id (the audit record's `callId` and the span's). */
  readonly id: string
  /** Whether every action on every resource is allowed. */
  readonly allowed: boolean
  /** Per resource, in the order asked. */
  readonly results: readonly ResourceDecisions[]
  /**
   * Whether `action` is allowed on the resource with this id (the first one with it); false for a
   * resource or action that was not asked.
   */
  isAllowed(resourceId: string, action: string): boolean
}

/** What an adapter attaches to the request on success (`req.meshguard`). */
export interface GuardGrant<Caller extends VerifiedCallerLike = VerifiedCaller> {
  readonly caller: Caller
  /** The decision, or `null` on routes that only required a verified caller and on list routes. */
  readonly decision: GuardDecision | null
  /** On list routes: the query plan for the verified principal. */
  readonly plan?: ListPlan | undefined
  /**
   * Asks the policy, inside the handler, about more resources and actions for the same verified
   * caller: batched like Cerbos CheckResources (every action on every resource, one engine call),
   * audited and traced exactly like a route check (one record and one span per call).
   *
   * @param resources - one resource or several, with the attributes the policy reads
   * @param actions - one action or several, asked of every resource
   * @throws RequestError (rejects) when a resource or action is malformed; the engine's
   *   `MeshguardError` when it fails; `AuditError` when the audit log must fail closed
   * @example
   * ```ts
   * const answer = await req.meshguard!.check([draft, published], ['read', 'publish'])
   * if (!answer.isAllowed(draft.id, 'publish')) hidePublishButton()
   * ```
   */
  check(resources: Resource | readonly Resource[], actions: string | readonly string[]): Promise<HandlerCheckResult>
}

/** The request may proceed; run the handler inside `guard.run(outcome.caller, ...)`. */
export interface GuardSuccess<Caller extends VerifiedCallerLike = VerifiedCaller> extends GuardGrant<Caller> {
  readonly ok: true
}

/** The request is refused; answer with `status`, `headers` and the problem body. */
export interface GuardFailure {
  readonly ok: false
  /** 401, 403, 400, 500 or 503. */
  readonly status: number
  /** `content-type`, `cache-control`, and `www-authenticate` on 401. */
  readonly headers: Readonly<Record<string, string>>
  readonly problem: ProblemDetails
  /** The typed failure, for framework logs (never sent). */
  readonly error: MeshguardError
}

/** Either the request proceeds or it is refused. Deny is an outcome, not an exception. */
export type GuardOutcome<Caller extends VerifiedCallerLike = VerifiedCaller> = GuardSuccess<Caller> | GuardFailure

/**
 * The guard's `edge` option: the edge verifier's options (`createEdgeVerifier` from
 * `@meshguard/core/edge`: trusted issuers with discovery and families, DPoP, introspection,
 * revocation), the public origin DPoP proofs are made for, and optionally the Txn-Token exchange.
 */
export interface EdgeOptions extends EdgeVerifierOptions {
  /**
   * The origin clients address (`https://api.example.com`, as they see it behind any proxy): a DPoP
   * proof's `htu` must be this origin plus the request's path. A function of the request view may pick
   * it per request; never derive it from a header the client controls unless a proxy you run sets it.
   */
  origin: string | ((view: RequestView) => string)
  /**
   * The Txn-Token Service client (`createTxnTokenExchange`), authenticating as this edge's workload:
   * every route with a `scope` then exchanges the verified access token for a Txn-Token for that
   * purpose, and outbound calls carry only the Txn-Token. @defaultValue none (no exchange)
   */
  txnTokens?: Pick<TxnTokenExchange, 'exchange' | 'clientId'> | undefined
  /**
   * Access-token mode, for services not yet behind a Txn-Token Service: handlers' outbound calls carry
   * the verified Bearer access token as the actor (bound to the workload token minted per callee),
   * as `callerContext.runWithActor` would. Never beside `txnTokens` (a ConfigError), and never for a
   * DPoP-bound token (its handler runs without an actor: the proof cannot travel with it).
   * @defaultValue false (the access token stops at the edge)
   */
  forwardAccessToken?: boolean | undefined
  /**
   * `request_context` for the TTS (feeds the Txn-Token's `rctx`): the request environment, e.g.
   * `{ req_ip, transport }`. It reaches every hop, so keep personal data out. @defaultValue none
   */
  requestContext?: ((view: RequestView) => Record<string, unknown> | undefined) | undefined
  /**
   * `request_details` for the TTS (feeds `tctx`): the route parameters the transaction is fixed to,
   * e.g. `{ review: view.params.id }`. @defaultValue none
   */
  requestDetails?: ((view: RequestView) => Record<string, unknown> | undefined) | undefined
}

/** Options of {@link createGuard}. */
export interface GuardOptions<Caller extends VerifiedCallerLike = VerifiedCaller> {
  /** Decides. The embedded engine or the remote Cerbos PDP. */
  engine: DecisionEngine
  /** Verifies the caller's credentials (inner hops). Leave it out at the edge: `edge` verifies there. */
  identity?: IdentityVerifierLike<Caller> | undefined
  /** The name of the service this guard protects (audit, spans and the `WWW-Authenticate` realm). */
  service: string
  /**
   * Runs handlers as the verified caller. @defaultValue core's `callerContext` (for callers that
   * carry a verified workload; others run without a context)
   */
  context?: CallerContextLike<Caller> | undefined
  /**
   * Where decision and authentication-failure records go (`createAuditLog`). With its `failClosed`
   * set, a request that cannot be audited is refused (503, `audit_unavailable`). @defaultValue none
   */
  audit?: AuditLog | undefined
  /** Spans and metrics (`createTelemetry`). @defaultValue none */
  telemetry?: Telemetry | undefined
  /**
   * Edge (gateway) mode: requests carry a user's access token (`Bearer` or DPoP), verified by the one
   * edge verifier built from these options instead of `identity`; 401s carry the `Bearer`/`DPoP`
   * challenge. With `txnTokens`, routes with a `scope` exchange it for a Txn-Token. @defaultValue none (inner hop)
   */
  edge?: EdgeOptions | undefined
  /** Actor requirement of routes that do not set one. @defaultValue `'optional'` */
  defaultActor?: ActorRequirement | undefined
  /** Problem body settings. */
  problem?:
    | {
        /** Prefix of the problem `type` URI. @defaultValue `'urn:meshguard:problem:'` */
        typeBase?: string | undefined
        /** Reshape problem bodies. */
        customize?: ProblemCustomizer | undefined
      }
    | undefined
  /**
   * Explaining denials (engines with `explainSync`, such as the embedded one): a separate evaluation
   * run only for denials, so allowed requests never pay for it. A failing explanation is reported
   * through `onInternalError` and never changes the outcome.
   */
  explain?: ExplainOptions | undefined
  /**
   * A candidate (shadow) policy set decided beside the live one on every route and handler check:
   * the live decision is enforced, and each disagreement goes into the audit record (`shadow`,
   * always kept) and the `meshguard.shadow.disagreements` metric. A failing candidate is reported
   * through `onInternalError` and never changes an outcome.
   */
  shadow?: ShadowOptions | undefined
  /** Called with failures of sinks and hooks that do not change the outcome. @defaultValue ignore */
  onInternalError?: ((error: unknown) => void) | undefined
  /** Clock in epoch ms, for tests. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** Where the guard puts the explanation of a denial. */
export interface ExplainOptions {
  /** In the denial's audit record (`explanation`), masked by the log's attribute filters. @defaultValue true */
  audit?: boolean | undefined
  /**
   * In the 403 problem body (`explanation` member), for development only: refused at start-up
   * when `NODE_ENV` is `production`. @defaultValue false
   */
  problem?: boolean | undefined
}

/** An engine that can explain a decision (the embedded engine's `explainSync`). */
export interface ExplainingEngine {
  explainSync(request: CheckResourcesRequest): { explanation: DecisionExplanation }
}

/** The framework-neutral guard adapters call. Never rejects: every failure is a {@link GuardFailure}. */
export interface Guard<Caller extends VerifiedCallerLike = VerifiedCaller> {
  /** The service name this guard protects. */
  readonly service: string
  /**
   * Checks a route's settings once, when it is registered, and returns them frozen; adapters call it
   * so a bad route fails at start-up.
   * @throws ConfigError naming the bad setting (`route.actor`, `GET /x.resource`, …)
   */
  compileRoute<Req>(route: RouteAuthorization<Req>, at?: string): RouteAuthorization<Req>
  /**
   * Checks a list route's settings once, when it is registered, and returns them frozen.
   * @throws ConfigError naming the bad setting
   * @throws PlanUnsupportedError when the guard's engine cannot plan
   */
  compileListRoute(route: ListRouteAuthorization, at?: string): ListRouteAuthorization
  /**
   * For a list route: verify the caller (as {@link Guard.authorize}), plan for the verified principal,
   * audit, and return the outcome with `plan` set. An always-denied plan is a 403 `denied` (see
   * `emptyForRoles`).
   */
  plan<Req>(view: RequestView<Req>, route: ListRouteAuthorization): Promise<GuardOutcome<Caller>>
  /** {@link Guard.plan}, synchronously when identity and the engine answer synchronously. Never throws. */
  planNow<Req>(view: RequestView<Req>, route: ListRouteAuthorization): GuardOutcome<Caller> | Promise<GuardOutcome<Caller>>
  /** Verify the caller, resolve the resource, decide, audit, and return the outcome. */
  authorize<Req>(view: RequestView<Req>, route: RouteAuthorization<Req>): Promise<GuardOutcome<Caller>>
  /** Verify the caller only (routes guarded at app level without a policy check). */
  authenticate<Req>(view: RequestView<Req>, options?: AuthenticateOptions): Promise<GuardOutcome<Caller>>
  /**
   * {@link Guard.authorize}, answered synchronously when every step is (a cached or locally verified
   * caller, a synchronous resource resolver, the embedded engine); otherwise a promise. Never throws.
   * Adapters use it so a warm request costs no promise, microtask or async-hook round.
   */
  authorizeNow<Req>(view: RequestView<Req>, route: RouteAuthorization<Req>): GuardOutcome<Caller> | Promise<GuardOutcome<Caller>>
  /** {@link Guard.authenticate}, synchronously when identity answers synchronously. Never throws. */
  authenticateNow<Req>(view: RequestView<Req>, options?: AuthenticateOptions): GuardOutcome<Caller> | Promise<GuardOutcome<Caller>>
  /** Run `fn` (the handler) with `caller` as the current caller for outbound calls. */
  run<T>(caller: Caller, fn: () => T): T
  /** The failure outcome for an error met outside the pipeline (e.g. inside an adapter). Fails closed. */
  fail(error: unknown): GuardFailure
}
