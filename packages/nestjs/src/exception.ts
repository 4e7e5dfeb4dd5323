/** Carries a refusal from the guard to the exception filter, which writes it as problem+json. */
import type { GuardFailure } from '@meshguard/core/adapter'
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common'
import type { ServerResponse } from 'node:http'

/**
 * Thrown by `MeshguardGuard` on a refusal. An `HttpException`, so even without the module's filter
 * Nest answers with the right status and the problem body.
 */
export class MeshguardProblemException extends HttpException {
  /** The refusal: status, headers and problem body. */
  readonly failure: GuardFailure
  constructor(failure: GuardFailure) {
    super(failure.problem, failure.status, { cause: failure.error })
    this.failure = failure
  }
}

interface FastifyLikeReply {
  code(status: number): FastifyLikeReply
  headers(headers: Record<string, string>): FastifyLikeReply
  send(payload: string): unknown
}

function isFastifyReply(response: object): response is FastifyLikeReply {
  return 'raw' in response && typeof (response as { code?: unknown }).code === 'function'
}

/** Writes a refusal on either platform, with exactly the bytes the other adapters send. */
export function writeFailure(response: object, failure: GuardFailure): void {
  const body = JSON.stringify(failure.problem)
  if (isFastifyReply(response)) {
    response.code(failure.status).headers({ ...failure.headers }).send(body)
    return
  }
  const res = response as ServerResponse
  res.statusCode = failure.status
  for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value)
  res.end(body)
}

/** Answers `MeshguardProblemException`s with `application/problem+json` and the failure's headers. */
@Catch(MeshguardProblemException)
export class MeshguardExceptionFilter implements ExceptionFilter<MeshguardProblemException> {
  catch(exception: MeshguardProblemException, host: ArgumentsHost): void {
    writeFailure(host.switchToHttp().getResponse<object>(), exception.failure)
  }
}
