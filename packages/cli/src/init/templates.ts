/**
 * The files `meshguard init` writes: a service with one protected route, its policy and policy
 * tests, and its trust configuration. Development trust (the local caller key and development
 * issuer) sits in its own file that the service reads only when MESHGUARD_ENV=development, which
 * only the `dev` script sets; production trust is a separate file the owner fills in.
 */

import { DEV_ACTOR_AUDIENCE, DEV_ISSUER } from '../dev-issuer.js'
import { CALLER_IDENTITY, CALLER_PORT, callerPolicy, callerPolicyTests, callerServer, ownKid, type Callee } from './caller-templates.js'
import { callerFor, DEV_CALLER, DEV_CALLER_KID, DEV_TRUST_DOMAIN, documentPolicy, spiffeId, type Framework } from './scaffold-basics.js'


/** What the templates need to know. */
export interface ScaffoldSettings {
  /** The service name (package name, audit `service`, SPIFFE ID). */
  name: string
  framework: Framework
  /** Dependency specifier per @meshguard package (a version range, or `file:` tarballs). */
  meshguard: Record<'core' | Framework | 'cli', string> & { client?: string }
  /** The service this one calls (`init --calls DIR`); none for a service that calls nobody. */
  calls?: Callee | undefined
}

const FRAMEWORK_PACKAGES: Record<Framework, Record<string, string>> = {
  express: { express: '^5.1.0' },
  fastify: { fastify: '^5.6.0' },
  nestjs: { '@nestjs/common': '^11.1.0', '@nestjs/core': '^11.1.0', '@nestjs/platform-express': '^11.1.0', 'reflect-metadata': '^0.2.2', rxjs: '^7.8.0' },
}

function packageJson(s: ScaffoldSettings): string {
  const pkg = {
    name: s.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '^20.19.0 || ^22.12.0 || >=24' },
    scripts: {
      dev: 'node --env-file=.env.development --watch src/server.mjs',
      start: 'node src/server.mjs',
      test: 'meshguard compile policies',
      'user-token': 'meshguard user-token --issuer-dir .meshguard/dev-issuer',
      token: `meshguard token --key .meshguard/keys/${DEV_CALLER}/${DEV_CALLER_KID}.key.pem --kid ${DEV_CALLER_KID} --id ${spiffeId(DEV_CALLER)} --aud ${spiffeId(s.name)}`,
    },
    dependencies: {
      '@meshguard/core': s.meshguard.core,
      [`@meshguard/${s.framework}`]: s.meshguard[s.framework],
      ...(s.calls ? { '@meshguard/client': s.meshguard.client, undici: '^7.16.0' } : {}),
      '@opentelemetry/api': '^1.9.0',
      ...FRAMEWORK_PACKAGES[s.framework],
    },
    devDependencies: { '@meshguard/cli': s.meshguard.cli },
  }
  return `${JSON.stringify(pkg, null, 2)}\n`
}

const SERVERS: Record<Framework, (name: string) => string> = {
  express: (name) => `import express from 'express'
import { createAuditLog, createMeshguard } from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'
import { authorize } from '@meshguard/express'
import { identity } from './identity.mjs'

const documents = { 1: { owner: 'alice' }, 2: { owner: 'bob' } }
const audit = createAuditLog({ sinks: [fileSink({ path: 'audit.jsonl' })] })
const mesh = await createMeshguard({ service: '${name}', policies: 'policies', identity: await identity(), audit })

const app = express()
app.get('/documents/:id', authorize(mesh.guard, {
  action: 'read',
  actor: 'required',
  resource: (req) => ({ kind: 'document', id: req.params.id, attr: documents[req.params.id] ?? {} }),
}), (req, res) => res.json({ id: req.params.id, ...documents[req.params.id] }))
const server = app.listen(Number(process.env.PORT ?? 3000), () => console.log(\`${name} listening on http://localhost:\${server.address().port}\`))
`,
  fastify: (name) => `import Fastify from 'fastify'
import { createAuditLog, createMeshguard } from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'
import { meshguard } from '@meshguard/fastify'
import { identity } from './identity.mjs'

const documents = { 1: { owner: 'alice' }, 2: { owner: 'bob' } }
const audit = createAuditLog({ sinks: [fileSink({ path: 'audit.jsonl' })] })
const mesh = await createMeshguard({ service: '${name}', policies: 'policies', identity: await identity(), audit })

const app = Fastify()
await app.register(meshguard, { guard: mesh.guard })
app.get('/documents/:id', { config: { meshguard: {
  action: 'read',
  actor: 'required',
  resource: (req) => ({ kind: 'document', id: req.params.id, attr: documents[req.params.id] ?? {} }),
} } }, async (req) => ({ id: req.params.id, ...documents[req.params.id] }))
const port = Number(process.env.PORT ?? 3000)
await app.listen({ port, host: 'localhost' })
console.log(\`${name} listening on http://localhost:\${app.server.address().port}\`)
`,
  nestjs: (name) => `import 'reflect-metadata'
import { Controller, Get, Module, Param } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { createAuditLog, createMeshguard } from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'
import { Authorize, MeshguardModule } from '@meshguard/nestjs'
import { identity } from './identity.mjs'

const documents = { 1: { owner: 'alice' }, 2: { owner: 'bob' } }
const audit = createAuditLog({ sinks: [fileSink({ path: 'audit.jsonl' })] })
const mesh = await createMeshguard({ service: '${name}', policies: 'policies', identity: await identity(), audit })

// Plain JavaScript, so decorators are applied with Reflect.decorate (in TypeScript: @Controller, @Get, ...).
class Documents {
  read(id) { return { id, ...documents[id] } }
}
Param('id')(Documents.prototype, 'read', 0)
Object.defineProperty(Documents.prototype, 'read', Reflect.decorate([Get(':id'), Authorize(
  (req) => ({ kind: 'document', id: req.params.id, attr: documents[req.params.id] ?? {} }), 'read', { actor: 'required' },
)], Documents.prototype, 'read', Object.getOwnPropertyDescriptor(Documents.prototype, 'read')))
Reflect.decorate([Controller('documents')], Documents)
class App {}
Reflect.decorate([Module({ imports: [MeshguardModule.forRoot({ guard: mesh.guard })], controllers: [Documents] })], App)

const app = await NestFactory.create(App, { logger: ['error', 'warn'] })
await app.listen(Number(process.env.PORT ?? 3000))
console.log(\`${name} listening on http://localhost:\${app.getHttpServer().address().port}\`)
`,
}

const IDENTITY = `// Who this service trusts. config/trust.development.json trusts the local development caller key
// and development issuer (tokens anyone with this checkout can mint); it is read only when
// MESHGUARD_ENV=development, which only \`npm run dev\` sets (.env.development). Everything else
// reads config/trust.json: fill it in with your real callers and identity provider.
import { readFile } from 'node:fs/promises'

export async function identity() {
  const development = process.env.MESHGUARD_ENV === 'development'
  if (development && process.env.NODE_ENV === 'production') {
    throw new Error('MESHGUARD_ENV=development and NODE_ENV=production: refusing to trust development keys')
  }
  const file = development ? 'config/trust.development.json' : 'config/trust.json'
  const config = JSON.parse(await readFile(file, 'utf8'))
  if (config.trust.workloads.length === 0) throw new Error(\`\${file} trusts no caller yet: list the services that may call this one\`)
  return config
}
`

const POLICY = documentPolicy(
  `# Who may read a document: the calling service must be \`${DEV_CALLER}\` (its workload role, the last
# segment of its SPIFFE ID), acting for the user who owns the document, or for an admin.`,
  `          any:
            of:
              - expr: request.resource.attr.owner == request.principal.attr.act.user.id
              - expr: '"admin" in request.principal.attr.act.user.roles'
`,
)

function policyTests(): string {
  const principal = callerFor
  return `# Run with \`npm test\` (meshguard compile policies): compiles the policies, then runs this suite.
name: DocumentPolicy
description: Owners and admins read documents, through the caller service only.
principals:
${principal('alice', ['employee'])}${principal('carol', ['admin'])}    other_service_for_alice:
      id: spiffe://${DEV_TRUST_DOMAIN}/ns/default/sa/other
      roles: ["other"]
      attr:
        act:
          user: { id: alice, roles: ["employee"], attr: {} }
resources:
  alices_document: { kind: document, id: "1", attr: { owner: alice } }
  bobs_document: { kind: document, id: "2", attr: { owner: bob } }
tests:
  - name: Owners read their own documents, admins read all
    input:
      principals: [caller_for_alice, caller_for_carol]
      resources: [alices_document, bobs_document]
      actions: ["read"]
    expected:
      - principal: caller_for_alice
        resource: alices_document
        actions: { read: EFFECT_ALLOW }
      - principal: caller_for_alice
        resource: bobs_document
        actions: { read: EFFECT_DENY }
      - principal: caller_for_carol
        resources: [alices_document, bobs_document]
        actions: { read: EFFECT_ALLOW }
  - name: Another service may not read documents, whoever it acts for
    input:
      principals: [other_service_for_alice]
      resources: [alices_document]
      actions: ["read"]
    expected:
      - principal: other_service_for_alice
        resource: alices_document
        actions: { read: EFFECT_DENY }
`
}

function developmentTrust(name: string, calls: boolean): string {
  return `${JSON.stringify(
    {
      audience: spiffeId(name),
      trust: {
        workloads: [workloadTrust(DEV_CALLER)],
        actors: [{ issuer: DEV_ISSUER, keys: { jwksFile: '.meshguard/dev-issuer/jwks.json' }, audiences: [DEV_ACTOR_AUDIENCE] }],
      },
      ...(calls ? { workload: { id: spiffeId(name), kid: ownKid(name), keyFile: `.meshguard/keys/${name}/${ownKid(name)}.key.pem` } } : {}),
    },
    null,
    2,
  )}\n`
}

/** A development trust entry for the workload `name`, whose public keys are in `.meshguard/keys/<name>/`. */
export function workloadTrust(name: string): { issuer: string; keys: { jwksFile: string } } {
  return { issuer: spiffeId(name), keys: { jwksFile: `.meshguard/keys/${name}/jwks.json` } }
}

/** Production trust: nothing trusted until the owner says whom (the service refuses to start). */
function productionTrust(name: string): string {
  return `${JSON.stringify(
    {
      audience: `spiffe://example.org/ns/default/sa/${name}`,
      trust: { workloads: [], actors: [] },
    },
    null,
    2,
  )}\n`
}

/** The curl session, as printed by `init` and written to the README. */
export function curlSession(dir: string, calls?: Callee): string {
  const headers = '-H "authorization: Bearer $CALLER" -H "x-meshguard-actor: $ALICE"'
  const base = `http://localhost:${calls ? CALLER_PORT : 3000}`
  const first = calls
    ? `  curl -s -w ' %{http_code}\\n' ${headers} ${base}/documents/1   # 200: ${calls.name} answered, alice owns document 1`
    : `  curl -s -o /dev/null -w '%{http_code}\\n' ${headers} ${base}/documents/1   # 200: alice owns document 1`
  const second = calls ? `403: ${calls.name} refused, document 2 is bob's` : "403: document 2 is bob's"
  return `  cd ${dir}
  npm install
  npm test                 # compiles the policy and runs its tests
  npm run dev              # serves ${base} (leave it running)
${calls ? `\n${calls.name} must be running too (npm run dev in its directory).\n` : ''}
In a second terminal, in ${dir}:

  ALICE=$(npm run --silent user-token -- --sub alice --role employee)
  CALLER=$(npm run --silent token -- --actor "$ALICE")
${first}
  curl -s -o /dev/null -w '%{http_code}\\n' ${headers} ${base}/documents/2   # ${second}
  curl -s -o /dev/null -w '%{http_code}\\n' ${base}/documents/1   # 401: no credentials
`
}

function readme(s: ScaffoldSettings, dir: string): string {
  const calls = s.calls ? `, which calls ${s.calls.name} (${s.calls.url}) for the user it serves` : ''
  return `# ${s.name}

A service protected by meshguard (${s.framework})${calls}, made by \`meshguard init\`.

\`\`\`
${curlSession(dir, s.calls)}\`\`\`

- \`src/server.mjs\`: the service; \`GET /documents/:id\` is protected.
- \`policies/document.yaml\`: who may read a document; \`policies/document_test.yaml\`: its tests.
- \`src/identity.mjs\`, \`config/\`: whom the service trusts. \`trust.development.json\` (the
  development caller key and development issuer in \`.meshguard/\`) is used only by \`npm run dev\`;
  \`trust.json\` is what everything else uses, and trusts nobody until you fill it in.
- \`audit.jsonl\`: one record per decision; a 403's \`decisionId\` is its \`callId\`.
`
}

/** Every file of the scaffold, by relative path. */
export function scaffoldFiles(s: ScaffoldSettings, dir: string): Record<string, string> {
  return {
    'package.json': packageJson(s),
    'src/server.mjs': s.calls ? callerServer(s.framework, s.name, s.calls) : SERVERS[s.framework](s.name),
    'src/identity.mjs': s.calls ? CALLER_IDENTITY : IDENTITY,
    'policies/document.yaml': s.calls ? callerPolicy() : POLICY,
    'policies/document_test.yaml': s.calls ? callerPolicyTests() : policyTests(),
    'config/trust.development.json': developmentTrust(s.name, s.calls !== undefined),
    'config/trust.json': productionTrust(s.name),
    '.env.development': 'MESHGUARD_ENV=development\n',
    '.gitignore': 'node_modules/\n.meshguard/\naudit.jsonl\n',
    'README.md': readme(s, dir),
  }
}
