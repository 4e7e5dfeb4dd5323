/**
 * Every TypeScript and JavaScript block in the docs compiles against the real packages' types.
 * A block marked `<!-- copy-of: path -->` is a verbatim part of a file (docs.test.ts checks that)
 * which its own tests type-check and run, so it is not compiled again here. Every other block is
 * written to its own module and type-checked with `tsc` (strict; JavaScript with `checkJs`). A
 * fragment that needs names from around it says so in hidden `<!-- prelude: ... -->` comments right
 * before it (imports of types and `declare`s only, TypeScript blocks only), compiled with it and
 * shown to nobody. The server of docs/getting-started.md (`<!-- init-server -->`) is a program the
 * install test runs.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { markdownFiles } from './markdown-files.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
// Inside the repository, so `@meshguard/*` and the peers resolve through the root node_modules (built types).
const scratch = join(root, '.tmp', 'docs-code-blocks')

interface Block {
  page: string
  line: number
  lang: 'ts' | 'js'
  prelude: string
  code: string
}

const pages = ['README.md', ...(await markdownFiles('docs')), ...(await markdownFiles('packages')).filter((p) => /^packages\/[^/]+\/README\.md$/.test(p))]
const blocks: Block[] = []
let copies = 0
for (const page of pages) {
  const text = await readFile(join(root, page), 'utf8')
  for (const m of text.matchAll(/((?:<!-- [a-z-]+:[^\n]*-->\n)*)```(ts|typescript|js|javascript|mjs)\n([\s\S]*?)```/g)) {
    const markers = m[1] ?? ''
    if (markers.includes('<!-- copy-of:')) {
      copies++
      continue
    }
    const prelude = [...markers.matchAll(/<!-- prelude: ([^\n]*) -->/g)].map((p) => p[1]).join('\n')
    // A whole program that test/install/init.test.ts runs (getting-started.test.ts proves it is the scaffold's).
    if (markers.includes('<!-- init-server:')) {
      copies++
      continue
    }
    const line = text.slice(0, m.index).split('\n').length + markers.split('\n').length - 1
    const lang = (m[2] ?? '').startsWith('t') ? 'ts' : 'js'
    // JavaScript cannot hold TypeScript declarations: a fragment that needs a prelude is written as TypeScript.
    if (lang === 'js' && prelude !== '') throw new Error(`${page}:${line}: a js block cannot have a prelude; make it ts`)
    blocks.push({ page, line, lang, prelude, code: m[3] ?? '' })
  }
}

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

describe('code blocks in the docs', () => {
  it('finds the blocks it checks (and the copies it leaves to their sources)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6)
    expect(copies).toBeGreaterThanOrEqual(10)
  })

  it('every block that is not a copy compiles', async () => {
    await rm(scratch, { recursive: true, force: true })
    await mkdir(scratch, { recursive: true })
    const names = new Map<string, Block>()
    for (const [i, block] of blocks.entries()) {
      const name = `block-${String(i).padStart(3, '0')}.${block.lang === 'ts' ? 'mts' : 'mjs'}`
      names.set(name, block)
      // `export {}` makes every block a module of its own, so blocks never see each other's names.
      await writeFile(join(scratch, name), `${block.prelude}\n${block.code}\nexport {}\n`)
    }
    await writeFile(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          strict: true,
          allowJs: true,
          checkJs: true,
          noEmit: true,
          skipLibCheck: true,
          experimentalDecorators: true,
        },
        include: ['./*.mts', './*.mjs', './*.d.ts'],
      }),
    )
    const output = await run(process.execPath, [tsc, '-p', join(scratch, 'tsconfig.json')], { maxBuffer: 16 * 1024 * 1024 }).then(
      () => '',
      // A failed run rejects with tsc's report on the error's stdout.
      (err: unknown) => (typeof err === 'object' && err !== null && 'stdout' in err && typeof err.stdout === 'string' ? err.stdout : String(err)),
    )
    // Name each error by the page and line of its block, so the failure says what to fix.
    const located = output.replace(/block-\d{3}\.m[tj]s/g, (file) => {
      const block = names.get(file)
      return block ? `${block.page} (block at line ${block.line})` : file
    })
    expect(located).toBe('')
  }, 120_000)
})
