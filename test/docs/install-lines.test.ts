/**
 * Every install line in the docs installs something that works: a line naming a @meshguard
 * package also names each required peer of that package and of the @meshguard packages it
 * needs (core's `@opentelemetry/api` included), so no first run ends in "Cannot find package".
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { markdownFiles } from './markdown-files.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

interface Manifest {
  name: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

const manifests = new Map<string, Manifest>()
for (const dir of await readdir(join(root, 'packages'))) {
  const manifest = JSON.parse(await readFile(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest
  manifests.set(manifest.name, manifest)
}

/** What a project must list itself to use `name`: its required peers, and theirs through @meshguard dependencies. */
function requiredPeers(name: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>()
  const manifest = manifests.get(name)
  if (manifest === undefined || seen.has(name)) return out
  seen.add(name)
  for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
    if (manifest.peerDependenciesMeta?.[peer]?.optional) continue
    out.add(peer)
    for (const p of requiredPeers(peer, seen)) out.add(p)
  }
  for (const dep of Object.keys(manifest.dependencies ?? {})) for (const p of requiredPeers(dep, seen)) out.add(p)
  return out
}

const pages = ['README.md', ...(await markdownFiles('docs')), ...(await markdownFiles('packages')), ...(await markdownFiles('examples'))]
const installLines: Array<{ page: string; line: string; names: string[] }> = []
for (const page of pages) {
  for (const match of (await readFile(join(root, page), 'utf8')).matchAll(/^\s*(?:pnpm add|npm install|npm i|yarn add) (.+)$/gm)) {
    const names = (match[1] ?? '').split(/\s+/).filter((w) => !w.startsWith('-') && w !== '\\')
    if (names.some((n) => n.startsWith('@meshguard/'))) installLines.push({ page, line: match[0].trim(), names })
  }
}

describe('install lines in the docs', () => {
  it('finds the adapter and client install lines', () => {
    const pagesWithLines = new Set(installLines.map((l) => l.page))
    for (const page of ['docs/adapters/express.md', 'docs/adapters/fastify.md', 'docs/adapters/nestjs.md', 'docs/client.md']) expect(pagesWithLines).toContain(page)
  })

  it('the peers of core include @opentelemetry/api (what this test exists for)', () => {
    expect(requiredPeers('@meshguard/express')).toEqual(new Set(['@meshguard/core', 'express', '@opentelemetry/api']))
  })

  it.each(installLines.map((l) => [`${l.page}: ${l.line}`, l] as const))('%s names every required peer', (_, { names }) => {
    const missing = new Set<string>()
    for (const name of names) {
      // A tarball path installs the package whose name it starts with.
      const pkg = /^(?:.*\/)?meshguard-([a-z]+)-\d/.exec(name)?.[1]
      for (const peer of requiredPeers(pkg ? `@meshguard/${pkg}` : name)) {
        const listed = names.some((n) => n === peer || n.includes(`meshguard-${peer.replace('@meshguard/', '')}-`))
        if (!listed) missing.add(peer)
      }
    }
    expect([...missing]).toEqual([])
  })
})
