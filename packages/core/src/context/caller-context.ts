import { AsyncLocalStorage } from 'node:async_hooks'
import { ConfigError, MintError } from '../errors.js'
import { actorTokenOf } from '../identity/verifier.js'
import type { VerifiedCaller } from '../identity/types.js'

/** How the code running now acts towards other services. */
export type CallerMode =
  /** Serving a verified inbound request: forward its actor, propagate its transaction. */
  | 'caller'
  /** A background job acting as the service itself, with no actor. */
  | 'service'
  /** A background job acting for an actor whose token it was explicitly given. */
  | 'actor'
  /** Outside any scope. */
  | 'none'

type Scope =
  | { readonly mode: 'caller'; readonly caller: VerifiedCaller }
  | { readonly mode: 'service'; readonly transactionId?: string | undefined }
  | { readonly mode: 'actor'; readonly actor: string; readonly transactionId?: string | undefined }

/** What an outbound call made now should carry; spread it into `identity.headersFor({ audience, ... })`. */
export interface OutboundContext {
  caller?: VerifiedCaller | undefined
  actor?: string | undefined
  transactionId?: string | undefined
}

/** Options of the background-job scopes. */
export interface BackgroundScopeOptions {
  /** A transaction id for the job's calls. @defaultValue none (the callee starts one) */
  transactionId?: string | undefined
}

/**
 * The caller being served, carried through async work with `AsyncLocalStorage`, so the outbound
 * client finds the actor to forward without threading it by hand. Background jobs say explicitly
 * whom they act for ({@link CallerContext.runAsService}, {@link CallerContext.runWithActor}); a job
 * that outlives its request cannot silently reuse the user's expired token.
 */
export class CallerContext {
  private readonly storage = new AsyncLocalStorage<Scope>()

  /** Runs `fn` (a request handler) with `caller` as the current caller. */
  run<T>(caller: VerifiedCaller, fn: () => T): T {
    if (typeof caller !== 'object' || caller === null || typeof caller.workload?.id !== 'string') {
      throw new ConfigError('callerContext.run', 'needs a verified caller')
    }
    return this.storage.run({ mode: 'caller', caller }, fn)
  }

  /** Runs `fn` acting as the service itself: no actor is forwarded, whatever scope encloses it. */
  runAsService<T>(fn: () => T, options: BackgroundScopeOptions = {}): T {
    return this.storage.run({ mode: 'service', transactionId: options.transactionId }, fn)
  }

  /** Runs `fn` acting for the actor whose token is given explicitly (e.g. a fresh token for a queued job). */
  runWithActor<T>(actorToken: string, fn: () => T, options: BackgroundScopeOptions = {}): T {
    if (typeof actorToken !== 'string' || actorToken === '') throw new ConfigError('callerContext.runWithActor', 'needs an actor token')
    return this.storage.run({ mode: 'actor', actor: actorToken, transactionId: options.transactionId }, fn)
  }

  /** The verified caller being served, or undefined outside a request scope. */
  current(): VerifiedCaller | undefined {
    const scope = this.storage.getStore()
    return scope?.mode === 'caller' ? scope.caller : undefined
  }

  /** The mode of the current scope. */
  mode(): CallerMode {
    return this.storage.getStore()?.mode ?? 'none'
  }

  /**
   * What an outbound call made now should carry.
   *
   * @param now - epoch ms, for tests
   * @throws MintError `actor_expired` when the request's actor token has expired (never forward it)
   */
  outbound(now: number = Date.now()): OutboundContext {
    const scope = this.storage.getStore()
    if (scope === undefined) return {}
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
    }
  }
}

/** The process-wide caller context: adapters set it per request, the outbound client reads it. */
export const callerContext: CallerContext = new CallerContext()
