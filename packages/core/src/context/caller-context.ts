import { AsyncLocalStorage } from 'node:async_hooks'
import { ConfigError, MintError } from '../errors.js'
import { actorTokenOf, type VerifiedCaller } from '../identity/caller.js'

/** How the code running now acts towards other services. */
export type CallerMode =
  /** Serving a verified inbound request: forward its actor, propagate its transaction. */
  | 'caller'
  /** A background job acting as the service itself, with no actor. */
  | 'service'
  /** A background job acting for an actor whose token it was explicitly given. */
  | 'actor'
  /** Calls carry an explicitly given Txn-Token (the edge's, or a replacement with a narrower scope). */
  | 'txn'
  /** Outside any scope. */
  | 'none'

type Scope =
  | { readonly mode: 'caller'; readonly caller: VerifiedCaller }
  | { readonly mode: 'service'; readonly transactionId?: string | undefined }
  | { readonly mode: 'actor'; readonly actor: string; readonly transactionId?: string | undefined }
  | { readonly mode: 'txn'; readonly txnToken: string; readonly caller: VerifiedCaller | undefined }

/** What an outbound call made now should carry; spread it into `identity.headersFor({ audience, ... })`. */
export interface OutboundContext {
  caller?: VerifiedCaller | undefined
  actor?: string | undefined
  /** A Txn-Token to forward instead of the caller's (with it, no actor token is sent). */
  txnToken?: string | undefined
  transactionId?: string | undefined
}

/** Options of the background-job scopes. */
export interface BackgroundScopeOptions {
  /** A transaction id for the job's calls. @defaultValue none (the callee starts one) */
  transactionId?: string | undefined
}

const LATE_START =
  'the caller context started after requests were served: create the outbound client (or call callerContext.enable()) ' +
  'before serving, or run background calls in callerContext.runAsService()'

/**
 * The caller being served, carried through async work with `AsyncLocalStorage`, so the outbound
 * client finds the actor to forward without threading it by hand. Background jobs say explicitly
 * whom they act for ({@link CallerContext.runAsService}, {@link CallerContext.runWithActor}); a job
 * that outlives its request cannot silently reuse the user's expired token.
 *
 * Carrying scopes through async work costs every async operation of the process something on Node
 * 20 (async hooks; ~3 % of an Express request, measured), so it starts with the first reader:
 * {@link CallerContext.enable}, which the outbound client calls when it is created, or any read of
 * the context. Until then {@link CallerContext.run} only keeps the scope for its synchronous part.
 * A reader that first appears after requests were served cannot know whether a call without a
 * scope belongs to one of them: such calls fail (`caller_context_unavailable`) instead of going out
 * as the service itself; create the client (or call `enable()`) before serving.
 */
export class CallerContext {
  private readonly storage = new AsyncLocalStorage<Scope>()
  /** Whether scopes are carried through async work (see {@link CallerContext.enable}). */
  private carrying = false
  /** A request was served before carrying started. */
  private servedUncarried = false
  /** Carrying started after requests were served without it. */
  private startedLate = false
  /** The scope of the synchronous part of a run that is not carried. */
  private immediate: Scope | undefined = undefined

  /**
   * Starts carrying scopes through async work, for the rest of the process. Idempotent. The
   * outbound client calls it when created; call it at startup when reading the context yourself.
   */
  enable(): void {
    if (this.carrying) return
    this.carrying = true
    this.startedLate = this.servedUncarried
  }

  /** Whether scopes are carried through async work. */
  get enabled(): boolean {
    return this.carrying
  }

  /** Runs `fn` (a request handler) with `caller` as the current caller. */
  run<T>(caller: VerifiedCaller, fn: () => T): T {
    if (typeof caller !== 'object' || (caller as unknown) === null || typeof (caller.workload as typeof caller.workload | undefined)?.id !== 'string') {
      throw new ConfigError('callerContext.run', 'needs a verified caller')
    }
    const scope: Scope = { mode: 'caller', caller }
    if (this.carrying) return this.storage.run(scope, fn)
    this.servedUncarried = true
    const enclosing = this.immediate
    this.immediate = scope
    try {
      return fn()
    } finally {
      this.immediate = enclosing
    }
  }

  /** Runs `fn` acting as the service itself: no actor is forwarded, whatever scope encloses it. */
  runAsService<T>(fn: () => T, options: BackgroundScopeOptions = {}): T {
    this.enable()
    return this.storage.run({ mode: 'service', transactionId: options.transactionId }, fn)
  }

  /** Runs `fn` acting for the actor whose token is given explicitly (e.g. a fresh token for a queued job). */
  runWithActor<T>(actorToken: string, fn: () => T, options: BackgroundScopeOptions = {}): T {
    if (typeof actorToken !== 'string' || actorToken === '') throw new ConfigError('callerContext.runWithActor', 'needs an actor token')
    this.enable()
    return this.storage.run({ mode: 'actor', actor: actorToken, transactionId: options.transactionId }, fn)
  }

  /**
   * Runs `fn` with its outbound calls carrying `txnToken`: the Txn-Token the edge obtained for this
   * request, or a replacement with a narrower scope for some downstream calls. The caller being served
   * (if any) stays the current caller; only the Txn-Token forwarded changes. No actor token is sent.
   */
  runWithTxnToken<T>(txnToken: string, fn: () => T): T {
    if (typeof txnToken !== 'string' || txnToken === '') throw new ConfigError('callerContext.runWithTxnToken', 'needs a Txn-Token')
    const caller = this.current()
    return this.storage.run({ mode: 'txn', txnToken, caller }, fn)
  }

  /** The innermost scope: a carried one, else the synchronous part of an uncarried run. Reading starts carrying. */
  private scope(): Scope | undefined {
    this.enable()
    return this.storage.getStore() ?? this.immediate
  }

  /** The verified caller being served, or undefined outside a request scope. */
  current(): VerifiedCaller | undefined {
    const scope = this.scope()
    return scope?.mode === 'caller' || scope?.mode === 'txn' ? scope.caller : undefined
  }

  /** The mode of the current scope. */
  mode(): CallerMode {
    return this.scope()?.mode ?? 'none'
  }

  /**
   * What an outbound call made now should carry.
   *
   * @param now - epoch ms, for tests
   * @throws MintError `actor_expired` when the request's actor token has expired (never forward it);
   *   `caller_context_unavailable` for a call without a scope once carrying started after requests
   *   were served (see the class description)
   */
  outbound(now: number = Date.now()): OutboundContext {
    const scope = this.scope()
    if (scope === undefined) {
      if (this.startedLate) throw new MintError('caller_context_unavailable', LATE_START)
      return {}
    }
    switch (scope.mode) {
      case 'caller':
        if (actorTokenOf(scope.caller) !== undefined && now >= scope.caller.expiresAt) {
          throw new MintError('actor_expired', 'the actor token of the request being served has expired')
        }
        return { caller: scope.caller, transactionId: scope.caller.transactionId }
      case 'service':
        return { transactionId: scope.transactionId }
      case 'actor':
        return { actor: scope.actor, transactionId: scope.transactionId }
      case 'txn':
        // The transaction id is the Txn-Token's own `txn` (the minting side reads it from the token).
        return { caller: scope.caller, txnToken: scope.txnToken }
    }
  }
}

/** The process-wide caller context: adapters set it per request, the outbound client reads it. */
export const callerContext: CallerContext = new CallerContext()
