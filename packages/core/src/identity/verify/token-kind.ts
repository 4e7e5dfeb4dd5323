/**
 * Which token an identity failure is about. Failures are marked where the verifier knows which token
 * it is working on, so that a 401 can say `actor` or `workload` next to its reason
 * (`token_expired` alone does not say which of two tokens expired).
 */
import { MeshguardError, type TokenKind } from '../../errors.js'
import type { MaybePromise } from '../../internal/maybe-async.js'

/** Marks a meshguard error as being about one token (the first mark stays) and returns it, for `throw`. */
export function aboutToken(err: unknown, kind: TokenKind): unknown {
  if (err instanceof MeshguardError && err.tokenKind === undefined) err.tokenKind = kind
  return err
}

/**
 * `andThen` for a step about one token: its rejection is marked with the token's kind; failures of
 * `next` are not (they are about whatever `next` works on). No promise beyond the one `value` is.
 */
export function andThenAbout<T, U>(kind: TokenKind, value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  if (!(value instanceof Promise)) return next(value)
  return value.then(next, (err: unknown) => {
    throw aboutToken(err, kind)
  })
}
