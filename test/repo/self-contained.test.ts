/**
 * The repository is self-contained: the test suite, scripts and benches read nothing outside the
 * clone (a clone placed anywhere must pass), and the vendored conformance data keeps its licences.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const SKIP = new Set(['node_modules', 'dist', '.git', 'coverage', '.tmp'])

async function codeFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name)
    // The vendored data at the root holds no code of ours.
    if (SKIP.has(entry.name) || path === 'conformance') continue
    if (entry.isDirectory()) out.push(...(await codeFiles(path)))
    else if (/\.(?:ts|mts|js|mjs|cjs)$/.test(entry.name)) out.push(path)
  }
  return out
}

const files = await codeFiles('.')

/** The fixed part of each `new URL('<relative>', import.meta.url)` (up to the first `${`). */
function relativeUrls(source: string): string[] {
  const urls: string[] = []
  for (const m of source.matchAll(/new URL\(\s*(['"`])([^'"`]*?)\1\s*,\s*import\.meta\.url\s*\)/g)) urls.push(m[2] ?? '')
  return urls.map((u) => u.split('${')[0] ?? '').filter((u) => u.startsWith('.'))
}

describe('no test, script or bench reads outside the repository', () => {
  it('finds the files it checks', () => {
    expect(files).toContain(join('test', 'conformance', 'support', 'cerbos-cases.ts'))
    expect(files).toContain(join('bench', 'engine.mjs'))
  })

  it('every relative URL resolves inside the repository', async () => {
    const outside: string[] = []
    for (const file of files) {
      for (const url of relativeUrls(await readFile(join(root, file), 'utf8'))) {
        // A partial name (`../${path}`) is checked by its directory.
        const target = resolve(root, dirname(file), url.endsWith('/') || url.endsWith('.') ? url : dirname(url))
        if (relative(root, target).startsWith('..') && target + sep !== root) outside.push(`${file}: ${url}`)
      }
    }
    expect(outside).toEqual([])
  })

  it('no code names the old shared conformance directory', async () => {
    const named: string[] = []
    const old = ['shared', 'conformance'].join('/') // spelled in parts so this file does not match itself
    for (const file of files) if ((await readFile(join(root, file), 'utf8')).includes(old)) named.push(file)
    expect(named).toEqual([])
  })
})

describe('vendored conformance data', () => {
  it.each(['cerbos', 'cel-spec'])('%s keeps its upstream LICENSE and provenance README', async (dir) => {
    expect(await readFile(join(root, 'conformance', dir, 'LICENSE'), 'utf8')).toContain('Apache License')
    expect(await readFile(join(root, 'conformance', dir, 'README.md'), 'utf8')).toMatch(/commit:? `[0-9a-f]{40}`/i)
  })

  it('includes the PlanResources suites', () => {
    expect(existsSync(join(root, 'conformance', 'cerbos', 'plan', 'suite'))).toBe(true)
    expect(existsSync(join(root, 'conformance', 'cerbos', 'plan', 'policies'))).toBe(true)
  })
})

describe('a fresh install links the meshguard command', () => {
  it('the cli bin points at a committed file, not at dist/ (which does not exist before the build)', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'packages/cli/package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] }
    const bin = pkg.bin['meshguard'] ?? ''
    expect(bin).not.toMatch(/dist\//)
    expect(existsSync(join(root, 'packages/cli', bin))).toBe(true)
    expect(pkg.files).toContain(bin.replace(/^\.\//, ''))
  })
})

describe('licence', () => {
  it('the root LICENSE is Apache-2.0, and every package ships the same text (npm packs only the package directory)', async () => {
    const license = await readFile(join(root, 'LICENSE'), 'utf8')
    expect(license).toContain('Apache License\n                           Version 2.0')
    for (const dir of await readdir(join(root, 'packages'))) {
      const manifest = JSON.parse(await readFile(join(root, 'packages', dir, 'package.json'), 'utf8')) as { license: string }
      expect(manifest.license, dir).toBe('Apache-2.0')
      expect(await readFile(join(root, 'packages', dir, 'LICENSE'), 'utf8'), dir).toBe(license)
    }
  })
})
