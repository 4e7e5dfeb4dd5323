/**
 * The import graph of a TypeScript source tree, and the cycles in it. Every relative import counts:
 * `import type`, `export … from` and `import()` included, since a type-only cycle still ties the
 * modules of a cycle together for readers and for the compiler.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import ts from 'typescript'

/** Module → the modules it imports, as paths relative to the tree's root with `/` separators. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

const posix = (path: string): string => path.split(sep).join('/')

/** The file a relative specifier names (`./a.js` → `a.ts`, `./dir` → `dir/index.ts`), if it is in the tree. */
function resolveSpecifier(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  const base = resolve(dirname(from), specifier)
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]
  return candidates.find((candidate) => files.has(candidate))
}

/** Reads every `.ts` file under `root` and lists the relative imports of each. */
export function importGraph(root: string): ImportGraph {
  const files = sourceFiles(root)
  const known = new Set(files)
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const targets = new Set<string>()
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue
      const target = resolveSpecifier(file, fileName, known)
      if (target === undefined) throw new Error(`${posix(relative(root, file))}: cannot resolve ${fileName}`)
      targets.add(posix(relative(root, target)))
    }
    graph.set(posix(relative(root, file)), [...targets].sort())
  }
  return graph
}

/**
 * The cycles of a graph, one per strongly connected component that has one (Tarjan's algorithm),
 * each as a closed path `[a, b, …, a]` through that component.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  let next = 0
  const visit = (node: string): void => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number))
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) as number, index.get(target) as number))
      }
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop() as string
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    const selfLoop = (graph.get(node) ?? []).includes(node)
    if (component.length > 1 || selfLoop) components.push(component)
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return components.map((component) => cyclePath(graph, new Set(component)))
}

/** One closed path through a strongly connected component, from its first member in sort order. */
function cyclePath(graph: ImportGraph, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0] as string
  // Breadth-first from the start back to itself, staying inside the component.
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const node = queue.shift() as string
    for (const target of graph.get(node) ?? []) {
      if (!component.has(target)) continue
      if (target === start) {
        const path: string[] = []
        for (let at = node; at !== start; at = previous.get(at) as string) path.unshift(at)
        return [start, ...path, start]
      }
      if (!previous.has(target)) {
        previous.set(target, node)
        queue.push(target)
      }
    }
  }
  return [start, start]
}

/** The imports from one group of modules into another: `[importer, imported]` pairs. */
export function importsBetween(graph: ImportGraph, from: (module: string) => boolean, to: (module: string) => boolean): [string, string][] {
  const found: [string, string][] = []
  for (const [module, targets] of graph) {
    if (!from(module)) continue
    for (const target of targets) if (to(target)) found.push([module, target])
  }
  return found
}
