/**
 * ai-reporting-agent (NestJS): an AI agent's runtime. It writes HR summaries from **aggregates**
 * at review-service, acting for the agent principal (a client-credentials token from the IdP).
 * Its `hr-raw` route plays an agent that was talked into fetching raw reviews: review-service's
 * policy denies it, because nothing grants this workload `read` on `review`; `hr-list` tries the
 * list route (`GET /reviews`) and is refused (403) as well.
 *
 * Plain JavaScript has no decorator syntax on Node 20, so decorators are applied with
 * `Reflect.decorate`; in TypeScript you would write `@Controller('summaries')`,
 * `@Get('hr') @Authorize('hr_summary', 'run', { actor: 'required' })` and `@Inject(UPSTREAM)`.
 */
import 'reflect-metadata'
import { Controller, Get, HttpException, Inject, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { Authorize, MeshguardModule, Public } from '@meshguard/nestjs'
import { continueTrace, createServiceMeshguard } from '@meshguard-examples/service-kit'

/** This service's workload identity. */
export const SERVICE_ID = 'spiffe://meshguard.example/ns/ai/sa/ai-reporting-agent'

/** Injection token of the review-service client. */
const UPSTREAM = Symbol('review-service upstream')

/**
 * @typedef {object} Upstream
 * @property {string} url  review-service's base URL
 * @property {(url: string) => Promise<import('undici').Response>} fetch meshguard's fetch
 */

/** Reads from review-service as the agent and turns answers into Nest results. */
class SummaryController {
  /** @param {Upstream} upstream */
  constructor(upstream) {
    this.upstream = upstream
  }

  /** Summary from aggregates only: allowed (`read:aggregate` on `hr_report`). */
  async hr() {
    const report = await this.#get('/reports/hr')
    const departments = Object.entries(report.byDepartment).map(([name, d]) => `${name}: ${d.reviews} reviews, average ${d.averageRating.toFixed(1)}`)
    return { year: report.year, summary: departments }
  }

  /** What a misled agent would try: a raw review. review-service answers 403, relayed as is. */
  async hrRaw() {
    return this.#get('/reviews/rv-eng-1')
  }

  /** The same agent listing raw reviews: review-service's list route refuses it (403), relayed as is. */
  async hrList() {
    return this.#get('/reviews')
  }

  /** @param {string} path */
  async #get(path) {
    const response = await this.upstream.fetch(`${this.upstream.url}${path}`)
    const body = /** @type {any} */ (await response.json())
    if (!response.ok) throw new HttpException(body, response.status)
    return body
  }
}
// The list variant of hr-raw (GET /reviews at review-service), refused the same way.
decorateMethod(SummaryController, 'hrList', [Get('hr-list'), Authorize('hr_summary', 'run', { actor: 'required' })])
Inject(UPSTREAM)(SummaryController, undefined, 0)
decorateMethod(SummaryController, 'hr', [Get('hr'), Authorize('hr_summary', 'run', { actor: 'required' })])
decorateMethod(SummaryController, 'hrRaw', [Get('hr-raw'), Authorize('hr_summary', 'run', { actor: 'required' })])
Reflect.decorate([Controller('summaries')], SummaryController)

class HealthController {
  health() {
    return { service: SERVICE_ID }
  }
}
decorateMethod(HealthController, 'health', [Get('health'), Public()])
Reflect.decorate([Controller()], HealthController)

/**
 * Starts the agent. `config.upstreams['review-service']` must point at review-service.
 * @param {import('@meshguard-examples/service-kit').ServiceConfig} config
 * @returns {Promise<{ url: string, id: string, flush: () => Promise<void>, close: () => Promise<void> }>}
 */
export async function start(config) {
  const reviews = config.upstreams?.['review-service']
  if (!reviews) throw new Error("ai-reporting-agent needs upstreams['review-service']")
  const mesh = await createServiceMeshguard(config, SERVICE_ID)

  class AppModule {}
  Reflect.decorate(
    [
      Module({
        imports: [MeshguardModule.forRoot({ guard: mesh.guard })],
        controllers: [SummaryController, HealthController],
        providers: [{ provide: UPSTREAM, useValue: { url: reviews.url, fetch: mesh.fetch } }],
      }),
    ],
    AppModule,
  )

  const app = await NestFactory.create(AppModule, { logger: false })
  app.use(continueTrace)
  const host = config.host ?? '127.0.0.1'
  await app.listen(config.port ?? 0, host)
  const address = /** @type {import('node:net').AddressInfo} */ (app.getHttpServer().address())
  return {
    url: `http://${host}:${address.port}`,
    id: mesh.id,
    flush: () => mesh.audit.flush(),
    close: async () => {
      await app.close()
      await mesh.close()
    },
  }
}

/**
 * Applies method decorators the way TypeScript's `@decorator` syntax does.
 * @param {Function} target
 * @param {string} method
 * @param {MethodDecorator[]} decorators
 */
function decorateMethod(target, method, decorators) {
  const descriptor = /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(target.prototype, method))
  Object.defineProperty(target.prototype, method, /** @type {PropertyDescriptor} */ (Reflect.decorate(decorators, target.prototype, method, descriptor)))
}
