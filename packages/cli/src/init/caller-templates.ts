/**
 * The files `meshguard init --calls DIR` writes instead of the plain service's: a service whose
 * protected route calls the service in DIR through `@meshguard/client`, so a request makes two
 * hops, each checked by its own service's policy. The calling service signs its outbound workload
 * tokens with its own development key; the called service is told to trust that key.
 */
import { callerFor, DEV_CALLER, documentPolicy, type Framework } from './scaffold-basics.js'

/** The service being called, as the caller's templates need it. */
export interface Callee {
  /** Its service name (the last segment of its SPIFFE ID). */
  name: string
  /** Its SPIFFE ID: the audience of every token minted for it. */
  id: string
  /** Where it listens in development. */
  url: string
}

/** The caller listens next to the service it calls. */
export const CALLER_PORT = 3001

/** `documents` → `DOCUMENTS`: the constant holding the callee's base URL. */
const calleeConstant = (callee: Callee): string => callee.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')

/** `documents` → `DOCUMENTS_URL`: the variable that overrides where the callee listens. */
export const calleeUrlVariable = (callee: Callee): string => `${calleeConstant(callee)}_URL`

/** The calling service's key id, in `.meshguard/keys/<name>/`. */
export const ownKid = (name: string): string => `${name}-1`

const preamble = (name: string, callee: Callee): string => `import { createAuditLog, createMeshguard } from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'
import { createMeshguardFetch } from '@meshguard/client'
import { identity, workload } from './identity.mjs'

// ${callee.name}: where it listens, and its SPIFFE ID (calls to it carry a token minted for exactly that ID).
const ${calleeConstant(callee)} = process.env.${calleeUrlVariable(callee)} ?? '${callee.url}'
const audit = createAuditLog({ sinks: [fileSink({ path: 'audit.jsonl' })] })
const mesh = await createMeshguard({ service: '${name}', policies: 'policies', identity: await identity(), workload: await workload(), audit })
const fetch = createMeshguardFetch({ identity: mesh.workload, destinations: { [new URL(${calleeConstant(callee)}).origin]: '${callee.id}' }, onUnmapped: 'refuse' })
`

/** The call to the callee: it acts for this request's user, whose token is forwarded and bound. */
const call = (callee: Callee): string => `fetch(\`\${${calleeConstant(callee)}}/documents/\${encodeURIComponent(req.params.id)}\`)`

/** The caller's server, per framework. */
export function callerServer(framework: Framework, name: string, callee: Callee): string {
  const listening = `${name} listening on http://localhost:`
  switch (framework) {
    case 'express':
      return `import express from 'express'
import { authorize } from '@meshguard/express'
${preamble(name, callee)}
const app = express()
app.get('/documents/:id', authorize(mesh.guard, { action: 'read', actor: 'required', resource: (req) => ({ kind: 'document', id: req.params.id }) }),
  async (req, res) => {
    const answer = await ${call(callee)}
    res.status(answer.status).type(answer.headers.get('content-type') ?? 'text/plain').send(await answer.text())
  })
const server = app.listen(Number(process.env.PORT ?? ${CALLER_PORT}), () => console.log(\`${listening}\${server.address().port}\`))
`
    case 'fastify':
      return `import Fastify from 'fastify'
import { meshguard } from '@meshguard/fastify'
${preamble(name, callee)}
const app = Fastify()
await app.register(meshguard, { guard: mesh.guard })
app.get('/documents/:id', { config: { meshguard: { action: 'read', actor: 'required', resource: (req) => ({ kind: 'document', id: req.params.id }) } } },
  async (req, reply) => {
    const answer = await ${call(callee)}
    return reply.code(answer.status).type(answer.headers.get('content-type') ?? 'text/plain').send(await answer.text())
  })
await app.listen({ port: Number(process.env.PORT ?? ${CALLER_PORT}), host: 'localhost' })
console.log(\`${listening}\${app.server.address().port}\`)
`
    case 'nestjs':
      return `import 'reflect-metadata'
import { Controller, Get, Module, Req, Res } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { Authorize, MeshguardModule } from '@meshguard/nestjs'
${preamble(name, callee)}
// Plain JavaScript, so decorators are applied with Reflect.decorate (in TypeScript: @Controller, @Get, ...).
class Documents {
  async read(req, res) {
    const answer = await ${call(callee)}
    res.status(answer.status).type(answer.headers.get('content-type') ?? 'text/plain').send(await answer.text())
  }
}
Req()(Documents.prototype, 'read', 0)
Res()(Documents.prototype, 'read', 1)
Object.defineProperty(Documents.prototype, 'read', Reflect.decorate([Get(':id'), Authorize((req) => ({ kind: 'document', id: req.params.id }), 'read', { actor: 'required' })],
  Documents.prototype, 'read', Object.getOwnPropertyDescriptor(Documents.prototype, 'read')))
Reflect.decorate([Controller('documents')], Documents)
class App {}
Reflect.decorate([Module({ imports: [MeshguardModule.forRoot({ guard: mesh.guard })], controllers: [Documents] })], App)

const app = await NestFactory.create(App, { logger: ['error', 'warn'] })
await app.listen(Number(process.env.PORT ?? ${CALLER_PORT}))
console.log(\`${listening}\${app.getHttpServer().address().port}\`)
`
  }
}

/** identity.mjs of a calling service: whom it trusts, and the key it signs its own calls with. */
export const CALLER_IDENTITY = `// Who this service trusts, and how it signs the calls it makes. config/trust.development.json
// trusts the local development caller key and development issuer (tokens anyone with this checkout
// can mint) and signs with the development key in .meshguard/; it is read only when
// MESHGUARD_ENV=development, which only \`npm run dev\` sets (.env.development). Everything else
// reads config/trust.json: fill it in with your real callers, identity provider and signing key.
import { readFile } from 'node:fs/promises'
import { selfSignedTokenSource } from '@meshguard/core'

async function config() {
  const development = process.env.MESHGUARD_ENV === 'development'
  if (development && process.env.NODE_ENV === 'production') {
    throw new Error('MESHGUARD_ENV=development and NODE_ENV=production: refusing to trust development keys')
  }
  const file = development ? 'config/trust.development.json' : 'config/trust.json'
  return { file, ...JSON.parse(await readFile(file, 'utf8')) }
}

export async function identity() {
  const { file, audience, trust } = await config()
  if (trust.workloads.length === 0) throw new Error(\`\${file} trusts no caller yet: list the services that may call this one\`)
  return { audience, trust }
}

export async function workload() {
  const { file, workload } = await config()
  if (!workload?.keyFile) throw new Error(\`\${file} has no workload signing key for the calls this service makes\`)
  return { id: workload.id, source: selfSignedTokenSource({ key: await readFile(workload.keyFile, 'utf8'), kid: workload.kid }) }
}
`

/** The caller's own policy: the development caller may use it for any employee. */
export function callerPolicy(): string {
  return documentPolicy(
    `# Who may ask this service for a document: the calling service must be \`${DEV_CALLER}\` (its workload
# role), acting for an employee. Whether that employee may read the document is for the document
# service to decide, on the next hop.`,
    `          expr: '"employee" in request.principal.attr.act.user.roles'
`,
  )
}

/** The caller policy's test suite. */
export function callerPolicyTests(): string {
  const principal = callerFor
  return `# Run with \`npm test\` (meshguard compile policies): compiles the policies, then runs this suite.
name: DocumentPolicy
description: Employees ask for documents, through the caller service only.
principals:
${principal('alice', ['employee'])}${principal('guest', [])}resources:
  a_document: { kind: document, id: "1" }
tests:
  - name: Employees may ask, others may not
    input:
      principals: [caller_for_alice, caller_for_guest]
      resources: [a_document]
      actions: ["read"]
    expected:
      - principal: caller_for_alice
        resource: a_document
        actions: { read: EFFECT_ALLOW }
      - principal: caller_for_guest
        resource: a_document
        actions: { read: EFFECT_DENY }
`
}
