/** A time limit on a store's answer: a store that hangs fails like one that is down. */

/** `work`'s answer, or a rejection once `timeoutMs` has passed without one. */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the store did not answer within ${timeoutMs} ms`)), timeoutMs)
    // A pending store call never keeps the process alive on its own.
    timer.unref()
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
