/** Writes a refusal. Plain Node calls so the bytes match the other adapters exactly. */
import type { GuardFailure } from '@meshguard/core/adapter'
import type { Response } from 'express'

/** Sends the problem+json body with the failure's status and headers. */
export function sendFailure(res: Response, failure: GuardFailure): void {
  res.statusCode = failure.status
  for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value)
  res.end(JSON.stringify(failure.problem))
}
