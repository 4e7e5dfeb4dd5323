/** The short cause of a failed fetch, for events. */
function fetchFailure(err: unknown): string {
  return err instanceof Error ? (err.name === 'TimeoutError' ? 'timeout' : err.message) : 'fetch failed'
}

/**
 * Runs one fetch and settles by `timeoutMs` at the latest: the abort signal stops a standard fetch,
 * and the deadline releases waiters even from a fetch implementation that ignores it (`onTimeout`
 * runs then; a result arriving later must be discarded by the caller).
 */
function withDeadline(timeoutMs: number, run: (signal: AbortSignal) => Promise<void>, onTimeout: () => void): Promise<void> {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException(`fetch exceeded ${timeoutMs} ms`, 'TimeoutError'))
      onTimeout()
      resolve()
    }, timeoutMs)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a stubbed timer may lack unref
    timer.unref?.()
  })
  return Promise.race([run(controller.signal), deadline]).finally(() => clearTimeout(timer))
}

/** Where a {@link SingleFlightFetch} delivers what it loaded. */
export interface FetchOutcome<T> {
  /** A load that finished in time and is still the newest; `durationMs` is how long it took. */
  loaded(value: T, durationMs: number): void
  /** A load that failed or ran past its deadline (`'timeout'`), with its short cause. */
  failed(error: string): void
}

/**
 * One fetch at a time under a deadline, shared by everyone who asks while it runs. A result that
 * arrives after its deadline, or after a newer fetch started, is dropped, so a slow answer can never
 * overwrite a newer one. The promise from {@link start} never rejects: failures go to `failed`.
 * The remote key set and the remote documents (discovery, revocation lists) keep their own
 * freshness and cooldown rules on top of this.
 */
export class SingleFlightFetch<T> {
  private inflight: Promise<void> | undefined
  /** Counts fetches, so a fetch that outlived its deadline cannot deliver. */
  private generation = 0

  constructor(
    private readonly timeoutMs: number,
    private readonly load: (signal: AbortSignal) => Promise<T>,
    private readonly outcome: FetchOutcome<T>,
  ) {}

  /** Whether a fetch is running now. */
  get running(): boolean {
    return this.inflight !== undefined
  }

  /** Starts a fetch, or joins the one running. */
  start(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight
    const generation = ++this.generation
    this.inflight = withDeadline(
      this.timeoutMs,
      (signal) => this.deliver(signal, generation),
      () => {
        if (generation === this.generation) this.generation++
        this.outcome.failed('timeout')
      },
    ).finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async deliver(signal: AbortSignal, generation: number): Promise<void> {
    const started = performance.now()
    try {
      const value = await this.load(signal)
      if (generation === this.generation) this.outcome.loaded(value, performance.now() - started)
    } catch (err) {
      if (generation === this.generation) this.outcome.failed(fetchFailure(err))
    }
  }
}
