/**
 * Option tables in the docs name real options: the first column of each table below must be a
 * property of the options type it documents. Renaming an option without updating the docs fails.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'

const read = (path: string): Promise<string> => readFile(new URL(`../../${path}`, import.meta.url), 'utf8')

interface OptionTable {
  doc: string
  /** The heading the table follows. */
  heading: string
  /** Where the options are declared. */
  sources: string[]
}

const TABLES: OptionTable[] = [
  { doc: 'docs/client.md', heading: '## Options', sources: ['packages/client/src/types.ts', 'packages/client/src/fetch.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '## Workload tokens', sources: ['packages/core/src/identity/mint/workload-identity.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '## Verifying: `createIdentityVerifier(options)`', sources: ['packages/core/src/identity/verify/types.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '## Trust bundles: `createTrustBundle(options)`', sources: ['packages/core/src/identity/trust/types.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '## The edge: `createEdgeVerifier(options)`', sources: ['packages/core/src/identity/verify/edge-verifier.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### Through the guard and every adapter: the guard\'s `edge` option', sources: ['packages/core/src/pipeline/types.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### Sender-constrained tokens (DPoP, RFC 9449)', sources: ['packages/core/src/identity/verify/dpop.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### One-time use of workload tokens', sources: ['packages/core/src/identity/verify/replay.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### Revocation', sources: ['packages/core/src/identity/verify/revocation.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### Opaque access tokens (introspection, RFC 7662)', sources: ['packages/core/src/identity/verify/introspection.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### Receiving: `trust.workloadIssuers` and `identity.wimse`', sources: ['packages/core/src/identity/trust/types.ts'] },
  { doc: 'docs/identity-and-tokens.md', heading: '### Sending: `createWimseIdentity` on `@meshguard/core/wimse`', sources: ['packages/core/src/identity/mint/wimse-identity.ts'] },
  { doc: 'docs/operations.md', heading: '## Audit log', sources: ['packages/core/src/audit/log.ts'] },
  { doc: 'docs/operations.md', heading: '## Remote Cerbos PDP', sources: ['packages/core/src/remote/remote-engine.ts'] },
  { doc: 'docs/adapters/fastify.md', heading: '## Plugin options', sources: ['packages/fastify/src/types.ts'] },
  { doc: 'docs/adapters/express.md', heading: '## Per route: `authorize(guard, route)`', sources: ['packages/core/src/pipeline/types.ts'] },
  { doc: 'docs/adapters/express.md', heading: '## List routes: `authorizeList(guard, route)`', sources: ['packages/core/src/pipeline/types.ts'] },
]

/** First-column names of the first table after `heading`. */
function optionNames(text: string, heading: string): string[] {
  const start = text.indexOf(`${heading}\n`)
  if (start < 0) throw new Error(`heading not found: ${heading}`)
  const lines = text.slice(start).split('\n')
  const first = lines.findIndex((line) => line.startsWith('|'))
  const names: string[] = []
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break
    const name = /^\| `([A-Za-z]+)`/.exec(line)?.[1]
    if (name) names.push(name)
  }
  return names
}

describe('docs option tables', () => {
  it.each(TABLES)('$doc › $heading lists real options', async ({ doc, heading, sources }) => {
    const names = optionNames(await read(doc), heading)
    expect(names.length).toBeGreaterThan(1)
    const declared = (await Promise.all(sources.map(read))).join('\n')
    for (const name of names) expect(declared, `${doc}: ${name}`).toMatch(new RegExp(`^\\s+(?:readonly )?${name}\\??:`, 'm'))
  })
})
