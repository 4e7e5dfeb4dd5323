/**
 * Variables and constants of one policy: merges imports, local and deprecated top-level
 * definitions, reports redefinitions, undefined references and cycles (with Cerbos' wording), and
 * yields the variables a policy actually uses, in dependency order.
 */
import type { CelProgram } from '../cel/index.js'
import type { PolicyIssue } from '../errors.js'
import type { CompiledParams, CompiledVariable } from './compiled.js'
import { didYouMean } from './suggest.js'
import { issueAt, type DocPath, type ParsedDocument } from './yaml-source.js'

/** Where a definition was written. */
export interface DefinitionSite {
  readonly doc: ParsedDocument
  readonly path: DocPath
  /** `import 'x'`, `policy local variables`, ... */
  readonly source: string
}

interface VariableEntry {
  readonly name: string
  readonly program: CelProgram | undefined
  readonly sites: DefinitionSite[]
}

interface ConstantEntry {
  readonly name: string
  readonly value: unknown
  readonly sites: DefinitionSite[]
}

const RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if',
  'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while',
])

/** Cerbos' identifier check for variable and constant names; returns the problem or undefined. */
export function identifierProblem(name: string): string | undefined {
  if (!/^[_a-zA-Z][_a-zA-Z0-9]*$/.test(name)) return `"${name}" is not a valid identifier`
  if (RESERVED.has(name)) return `"${name}" is a reserved keyword and can't be used as an identifier`
  return undefined
}

function place(site: DefinitionSite): string {
  const pos = site.doc.positionOf(site.path)
  return pos ? `${site.source} (${site.doc.file}:${pos.line}:${pos.column})` : `${site.source} (${site.doc.file})`
}

function joinPlaces(sites: readonly DefinitionSite[]): string {
  const places = sites.map(place)
  if (places.length === 2) return places.join(' and ')
  return `${places.slice(0, -1).join(', ')}, and ${places[places.length - 1]}`
}

/** The variable and constant namespace of one policy (or one exportVariables/derivedRoles module). */
export class DefinitionScope {
  private readonly variables = new Map<string, VariableEntry>()
  private readonly constants = new Map<string, ConstantEntry>()
  private usedVariables = new Set<string>()
  private cycleMembers = new Set<string>()
  private readonly missingImports: { variables?: PolicyIssue; constants?: PolicyIssue } = {}

  /**
   * @param issues - where problems are collected
   * @param owner - the document whose namespace this is (redefinitions are reported there)
   */
  constructor(
    private readonly issues: PolicyIssue[],
    private readonly owner: ParsedDocument,
  ) {}

  /** Adds a variable definition (`program` undefined when it failed to compile). */
  addVariable(name: string, program: CelProgram | undefined, site: DefinitionSite): void {
    const entry = this.variables.get(name)
    if (entry) entry.sites.push(site)
    else this.variables.set(name, { name, program, sites: [site] })
  }

  /** Adds a constant definition. */
  addConstant(name: string, value: unknown, site: DefinitionSite): void {
    const entry = this.constants.get(name)
    if (entry) entry.sites.push(site)
    else this.constants.set(name, { name, value, sites: [site] })
  }

  /** Copies every definition of `other` (an imported module), relabelled with `source`. */
  importFrom(other: DefinitionScope, source: string): void {
    for (const v of other.variables.values()) {
      for (const site of v.sites) this.addVariable(v.name, v.program, { ...site, source })
    }
    for (const c of other.constants.values()) {
      for (const site of c.sites) this.addConstant(c.name, c.value, { ...site, source })
    }
  }

  /**
   * Records that an import of `kind` could not be found (reported as `issue`): an undefined name
   * of that kind may be defined there, so its issue is marked as following from this one.
   */
  importMissing(kind: 'variables' | 'constants', issue: PolicyIssue): void {
    this.missingImports[kind] ??= issue
  }

  /** An issue about an undefined variable or constant, with a near name or the missing import it follows from. */
  private undefinedIssue(kind: 'variables' | 'constants', name: string, doc: ParsedDocument, path: DocPath, message: string): PolicyIssue {
    const causedBy = this.missingImports[kind]
    const known = kind === 'variables' ? this.variables.keys() : this.constants.keys()
    const issue = issueAt(doc, path, `${message}${causedBy ? '' : didYouMean(name, known)}`)
    return causedBy ? { ...issue, causedBy } : issue
  }

  /** Whether a constant is defined. */
  hasConstant(name: string): boolean {
    return this.constants.has(name)
  }

  /** Reports redefinitions, bad references and cycles. Call once after every definition is added. */
  resolve(): void {
    for (const v of this.variables.values()) {
      if (v.sites.length > 1) {
        this.issues.push(issueAt(this.owner, [], `Variable '${v.name}' has multiple definitions in ${joinPlaces(v.sites)}`))
      }
    }
    for (const c of this.constants.values()) {
      if (c.sites.length > 1) {
        this.issues.push(issueAt(this.owner, [], `Constant '${c.name}' has multiple definitions in ${joinPlaces(c.sites)}`))
      }
    }
    for (const v of this.variables.values()) {
      if (!v.program) continue
      const site = v.sites[0]!
      for (const c of [...v.program.constantRefs].sort().reverse()) {
        if (!this.constants.has(c)) {
          this.issues.push(this.undefinedIssue('constants', c, site.doc, site.path, `Undefined constant '${c}' referenced in variable '${v.name}'`))
        }
      }
      for (const ref of [...v.program.variableRefs].sort().reverse()) {
        if (ref === v.name) {
          this.issues.push(issueAt(site.doc, site.path, `Variable '${ref}' references itself`))
        } else if (!this.variables.has(ref)) {
          this.issues.push(this.undefinedIssue('variables', ref, site.doc, site.path, `Undefined variable '${ref}' referenced in variable '${v.name}'`))
        }
      }
    }
    this.reportCycles()
  }

  private deps(name: string): string[] {
    const v = this.variables.get(name)
    if (!v?.program) return []
    return [...v.program.variableRefs].filter((r) => r !== name && this.variables.has(r))
  }

  /** Tarjan's strongly connected components; every component of two or more is a cycle. */
  private reportCycles(): void {
    let index = 0
    const indexes = new Map<string, number>()
    const low = new Map<string, number>()
    const stack: string[] = []
    const onStack = new Set<string>()
    const components: string[][] = []
    const visit = (v: string): void => {
      indexes.set(v, index)
      low.set(v, index)
      index++
      stack.push(v)
      onStack.add(v)
      for (const w of this.deps(v)) {
        if (!indexes.has(w)) {
          visit(w)
          low.set(v, Math.min(low.get(v)!, low.get(w)!))
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, indexes.get(w)!))
        }
      }
      if (low.get(v) === indexes.get(v)) {
        const component: string[] = []
        let w: string
        do {
          w = stack.pop()!
          onStack.delete(w)
          component.push(w)
        } while (w !== v)
        if (component.length > 1) components.push(component)
      }
    }
    for (const name of [...this.variables.keys()].sort()) if (!indexes.has(name)) visit(name)
    for (const component of components) {
      component.sort()
      for (const n of component) this.cycleMembers.add(n)
      const parts = component.map((n) => {
        const site = this.variables.get(n)!.sites[0]!
        const pos = site.doc.positionOf(site.path)
        return pos ? `'${n}' (${site.doc.file}:${pos.line}:${pos.column})` : `'${n}'`
      })
      const list =
        parts.length === 2 ? parts.join(' and ') : `${parts.slice(0, -1).join(', ')}, and ${parts[parts.length - 1]}`
      const first = this.variables.get(component[0]!)!.sites[0]!
      this.issues.push(issueAt(first.doc, first.path, `Variables ${list} form a cycle`))
    }
  }

  /** Forgets which variables were used (each derived role tracks its own). */
  resetUsage(): void {
    this.usedVariables = new Set()
  }

  /**
   * Records that an expression (a condition or output) reads variables and constants; reports
   * undefined ones at `site`.
   */
  use(program: CelProgram, doc: ParsedDocument, path: DocPath): void {
    for (const c of [...program.constantRefs].sort()) {
      if (!this.constants.has(c)) this.issues.push(this.undefinedIssue('constants', c, doc, path, `Undefined constant '${c}'`))
    }
    for (const ref of [...program.variableRefs].sort()) {
      if (!this.variables.has(ref)) this.issues.push(this.undefinedIssue('variables', ref, doc, path, `Undefined variable '${ref}'`))
      else this.markUsed(ref)
    }
  }

  private markUsed(name: string): void {
    if (this.usedVariables.has(name)) return
    this.usedVariables.add(name)
    for (const dep of this.deps(name)) this.markUsed(dep)
  }

  /** Constants plus the used variables, ordered so that each comes after what it reads (ties by name). */
  params(): CompiledParams {
    const constants: Record<string, unknown> = {}
    for (const c of this.constants.values()) constants[c.name] = c.value
    const used = [...this.usedVariables].filter((n) => !this.cycleMembers.has(n))
    const ordered: CompiledVariable[] = []
    const done = new Set<string>()
    const pending = new Set(used)
    while (pending.size > 0) {
      const ready = [...pending].filter((n) => this.deps(n).every((d) => done.has(d) || !pending.has(d))).sort()
      if (ready.length === 0) break
      const next = ready[0]!
      pending.delete(next)
      done.add(next)
      const program = this.variables.get(next)?.program
      if (program) ordered.push({ name: next, program })
    }
    return { constants: Object.freeze(constants), variables: Object.freeze(ordered) }
  }
}
