import type { Dispatcher } from 'undici'

/**
 * The controller handed to `onResponseError` when the client fails a request before dispatching
 * it (mint failure, refused destination): already aborted with the reason, nothing to pause.
 */
export class NotSentController implements Dispatcher.DispatchController {
  readonly #reason: Error
  constructor(reason: Error) {
    this.#reason = reason
  }
  get aborted(): boolean {
    return true
  }
  get paused(): boolean {
    return false
  }
  get reason(): Error {
    return this.#reason
  }
  abort(): void {}
  pause(): void {}
  resume(): void {}
}

/** Reports `err` to `handler` as the outcome of a request that was never sent. */
export function failBeforeSend(handler: Dispatcher.DispatchHandler, err: Error): void {
  try {
    handler.onResponseError?.(new NotSentController(err), err)
  } catch (handlerFailure) {
    // A handler that throws from its error callback has nobody left to tell; surface it as a
    // process warning rather than an unhandled rejection.
    process.emitWarning(`meshguard client: response handler threw while reporting an error: ${String(handlerFailure)}`)
  }
}
