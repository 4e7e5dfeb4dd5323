/**
 * The import graph of @meshguard/core has no cycle (type-only imports included), and identity's
 * sides import only what docs/architecture.md allows: the floor (`identity/*.ts`) none of the
 * sides, trust neither verify nor mint, mint only the floor (never verify).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { findCycles, importGraph, importsBetween } from '../support/import-graph.js'

const coreSrc = fileURLToPath(new URL('../../packages/core/src/', import.meta.url))
const graph = importGraph(coreSrc)

const inSide = (side: string) => (module: string): boolean => module.startsWith(`identity/${side}/`)
const inFloor = (module: string): boolean => /^identity\/[^/]+\.ts$/.test(module) && module !== 'identity/index.ts'
const inAnySide = (module: string): boolean => inSide('verify')(module) || inSide('trust')(module) || inSide('mint')(module)

describe('packages/core/src import graph', () => {
  it('reads the identity sides', () => {
    expect([...graph.keys()].filter(inSide('verify')).length).toBeGreaterThan(0)
    expect([...graph.keys()].filter(inSide('trust')).length).toBeGreaterThan(0)
    expect([...graph.keys()].filter(inSide('mint')).length).toBeGreaterThan(0)
  })

  it('has no import cycle', () => {
    expect(findCycles(graph)).toEqual([])
  })

  it('mint never imports verify', () => {
    expect(importsBetween(graph, inSide('mint'), inSide('verify'))).toEqual([])
  })

  it('mint never imports trust', () => {
    expect(importsBetween(graph, inSide('mint'), inSide('trust'))).toEqual([])
  })

  it('trust imports neither verify nor mint', () => {
    expect(importsBetween(graph, inSide('trust'), (m) => inSide('verify')(m) || inSide('mint')(m))).toEqual([])
  })

  it('the identity floor imports none of the sides', () => {
    expect(importsBetween(graph, inFloor, inAnySide)).toEqual([])
  })
})

describe('the cycle finder', () => {
  const fixtures = mkdtempSync(join(tmpdir(), 'meshguard-import-graph-'))
  afterAll(() => rmSync(fixtures, { recursive: true, force: true }))

  function tree(name: string, files: Record<string, string>): string {
    const root = join(fixtures, name)
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true })
      writeFileSync(join(root, path), text)
    }
    return root
  }

  it('finds a planted cycle closed by a type-only import', () => {
    const root = tree('cycle', {
      'a.ts': "import { b } from './b.js'\nexport const a = b\n",
      'b.ts': "export { c as b } from './side/c.js'\n",
      'side/c.ts': "import type { A } from '../a.js'\nexport const c = 1\nexport type C = A\n",
      'd.ts': "import { a } from './a.js'\nexport const d = a\n",
    })
    expect(findCycles(importGraph(root))).toEqual([['a.ts', 'b.ts', 'side/c.ts', 'a.ts']])
  })

  it('finds a module importing itself and a dynamic import closing a cycle', () => {
    const root = tree('self', {
      'self.ts': "import type { X } from './self.js'\nexport type Y = X\nexport type X = 1\n",
      'p.ts': "export const p = () => import('./q.js')\n",
      'q.ts': "import { p } from './p.js'\nexport const q = p\n",
    })
    expect(findCycles(importGraph(root))).toEqual([['p.ts', 'q.ts', 'p.ts'], ['self.ts', 'self.ts']])
  })

  it('passes an acyclic tree, and names imports between groups', () => {
    const root = tree('acyclic', {
      'identity/mint/m.ts': "import { v } from '../verify/v.js'\nexport const m = v\n",
      'identity/verify/v.ts': "import { w } from '../wire.js'\nexport const v = w\n",
      'identity/wire.ts': 'export const w = 1\n',
    })
    const fixture = importGraph(root)
    expect(findCycles(fixture)).toEqual([])
    expect(importsBetween(fixture, inSide('mint'), inSide('verify'))).toEqual([['identity/mint/m.ts', 'identity/verify/v.ts']])
  })
})
