/**
 * The docs only mention things that exist: relative links resolve, repository paths in backticks
 * exist, `pnpm <script>` commands are real root scripts, and code blocks marked
 * `<!-- copy-of: path -->` are verbatim copies of files that tests exercise.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { markdownFiles } from './markdown-files.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

const docs = [
  'README.md',
  ...(await markdownFiles('docs')),
  ...(await markdownFiles('examples')),
  ...(await markdownFiles('packages')).filter((p) => /^packages\/[^/]+\/README\.md$/.test(p)),
]
const pages = await Promise.all(docs.map(async (file) => ({ file, text: await readFile(join(root, file), 'utf8') })))
const scriptTable = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
const rootScripts = Object.keys(scriptTable)

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const headingAnchors = (text: string): string[] =>
  [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
    (m[1] ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-'),
  )

/** Lines that carry meaning for a copy: no blank lines, no whole-line comments. */
const significant = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !/^\s*(#|\/\/)/.test(line))
    .join('\n')

describe('documentation', () => {
  it('covers the pages the project promises', () => {
    for (const page of [
      'docs/getting-started.md',
      'docs/concepts.md',
      'docs/policies.md',
      'docs/identity-and-tokens.md',
      'docs/adapters/express.md',
      'docs/adapters/fastify.md',
      'docs/adapters/nestjs.md',
      'docs/client.md',
      'docs/operations.md',
      'docs/security-model.md',
      'docs/cli.md',
      'docs/benchmarks.md',
      'docs/reference/errors.md',
    ]) {
      expect(docs, page).toContain(page)
    }
  })

  it.each(pages)('$file: relative links resolve, anchors included', async ({ file, text }) => {
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? ''
      if (/^[a-z]+:/i.test(target)) continue
      const [pathPart = '', anchor] = target.split('#')
      const path = pathPart === '' ? join(root, file) : resolve(root, dirname(file), pathPart)
      expect(existsSync(path), `${file} links to ${target}`).toBe(true)
      if (anchor !== undefined && path.endsWith('.md') && existsSync(path)) {
        expect(headingAnchors(await readFile(path, 'utf8')), `${file} links to ${target}`).toContain(anchor)
      }
    }
  })

  it('links every page under docs/ from the README or another page', () => {
    const linked = new Set<string>()
    for (const { file, text } of pages) {
      for (const match of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
        if (!/^[a-z]+:/i.test(match[1] ?? '')) linked.add(relative(root, resolve(root, dirname(file), match[1] ?? '')))
      }
    }
    for (const page of docs.filter((d) => d.startsWith('docs/'))) expect(linked, page).toContain(page)
  })

  it.each(pages)('$file: repository paths in backticks exist', ({ file, text }) => {
    for (const match of text.matchAll(/`((?:examples|packages|docs|test|bench|scripts)\/[^`\s*<>]+?)`/g)) {
      const path = (match[1] ?? '').replace(/[:#].*$/, '')
      expect(existsSync(join(root, path)), `${file} mentions ${path}`).toBe(true)
    }
  })

  it.each(pages)('$file: pnpm commands name real root scripts', ({ file, text }) => {
    const blocks = [...text.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
    const inline = [...text.matchAll(/`((?:npx --yes pnpm@[\d.]+|pnpm) [^`]+)`/g)].map((m) => m[1] ?? '')
    for (const command of [...blocks, ...inline]) {
      for (const use of command.matchAll(/(?:^|\s|&&\s)(?:npx --yes pnpm@[\d.]+|pnpm) ([a-z:]+)/g)) {
        const script = use[1] ?? ''
        if (['install', 'add', 'exec', 'dlx', 'run'].includes(script)) continue
        expect(rootScripts, `${file}: pnpm ${script}`).toContain(script)
        // A script that runs a source file (`node bench/engine.mjs`) is only real if the file is
        // there; build outputs (`dist/`) appear only after `tsc -b`.
        for (const [, target = ''] of (scriptTable[script] ?? '').matchAll(/\bnode (\S+\.m?js)/g)) {
          if (target.includes('/dist/')) continue
          expect(existsSync(join(root, target)), `${file}: pnpm ${script} runs ${target}`).toBe(true)
        }
      }
    }
  })

  it.each(pages.filter((p) => p.text.includes('<!-- copy-of:')))('$file: marked code blocks copy real files', async ({ file, text }) => {
    const copies = [...text.matchAll(/<!-- copy-of: (\S+) -->\n```[a-z]*\n([\s\S]*?)```/g)]
    expect(copies.length, `${file} has well-formed copy-of markers`).toBe(text.split('<!-- copy-of:').length - 1)
    for (const [, source = '', block = ''] of copies) {
      const path = join(root, source)
      expect(existsSync(path), `${file} copies ${source}`).toBe(true)
      if (!existsSync(path)) continue
      const original = await readFile(path, 'utf8')
      expect(significant(original), `${file}: block differs from ${relative(root, path)}`).toContain(significant(block))
    }
  })
})
