/**
 * Compiles a set of policy documents: resolves imports (derived roles, exported variables and
 * constants), checks scope ancestry and schema references, compiles every expression once.
 * All issues are collected and thrown together.
 */
import { createHash } from 'node:crypto'
import { PolicyError, type PolicyIssue } from '../errors.js'
import type {
  CompiledDerivedRole,
  CompiledPolicy,
  CompiledPolicySet,
  CompiledPrincipalRule,
  CompiledResourcePolicy,
  CompiledResourceRule,
  CompiledRoleRule,
} from './compiled.js'
import { attributeReadsOf } from '../cel/program.js'
import { undefinedAttribute } from './attribute-schemas.js'
import { compileCondition, compileExpression, compileOutput, type ExprContext, type ExpressionSite } from './conditions.js'
import { DefinitionScope, identifierProblem } from './definitions.js'
import { didYouMean } from './suggest.js'
import { checkAncestors, scopePermissionConflicts } from './set-checks.js'
import type { ConstantsDef, PolicyDocumentDef, ScopePermissions, VariablesDef } from './model.js'
import {
  derivedRolesKey,
  exportConstantsKey,
  exportVariablesKey,
  principalPolicyKey,
  resourcePolicyKey,
  rolePolicyKey,
} from './names.js'
import { createSchemaRegistry, SCHEMA_URL_PREFIX, type SchemaRegistry } from './schemas.js'
import { validateDocument, type ValidatedDocument } from './validate-document.js'
import { issueAt, parsePolicyText, type DocPath, type ParsedDocument } from './yaml-source.js'

/** A policy file's text. */
export interface PolicySource {
  /** Name used in issues, normally the path relative to the policy directory. */
  file: string
  text: string
}

/** A policy given as an already-parsed object (for in-memory use). */
export interface PolicyObjectSource {
  file: string
  policy: Record<string, unknown>
}

/** Options of {@link compilePolicies}. */
export interface CompileOptions {
  /** JSON schemas: path relative to `_schemas/` → schema text. */
  schemas?: ReadonlyArray<{ path: string; text: string }> | undefined
}

interface Unit {
  readonly v: ValidatedDocument
  readonly key: string
}

const scopePermissionsOf = (value: string | undefined): ScopePermissions =>
  value === 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS' ? value : 'SCOPE_PERMISSIONS_OVERRIDE_PARENT'

function unitKey(def: PolicyDocumentDef): string {
  if (def.resourcePolicy) {
    const p = def.resourcePolicy
    return resourcePolicyKey(p.resource, p.version, p.scope ?? '')
  }
  if (def.principalPolicy) {
    const p = def.principalPolicy
    return principalPolicyKey(p.principal, p.version, p.scope ?? '')
  }
  if (def.rolePolicy) {
    const p = def.rolePolicy
    return rolePolicyKey(p.role, p.version ?? '', p.scope ?? '')
  }
  if (def.derivedRoles) return derivedRolesKey(def.derivedRoles.name)
  if (def.exportVariables) return exportVariablesKey(def.exportVariables.name)
  return exportConstantsKey(def.exportConstants?.name ?? '')
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Compiles one whole set; see {@link compilePolicies}. */
class SetCompiler {
  readonly issues: PolicyIssue[] = []
  readonly warnings: PolicyIssue[] = []
  private readonly units = new Map<string, Unit>()
  /** Every expression of each derived-roles set, for the attribute checks of the policies importing it. */
  private readonly derivedRoleExpressions = new Map<string, ExpressionSite[]>()
  private readonly exportVariables = new Map<string, DefinitionScope>()
  private readonly exportConstants = new Map<string, DefinitionScope>()
  private readonly derivedRoleSets = new Map<string, Map<string, CompiledDerivedRole> | undefined>()

  constructor(
    docs: readonly ValidatedDocument[],
    private readonly schemas: SchemaRegistry,
    private readonly schemaDocs: ReadonlyMap<string, unknown>,
  ) {
    const units: ValidatedDocument[] = []
    for (const v of docs) {
      if (v.def.disabled === true) continue
      const key = unitKey(v.def)
      const existing = this.units.get(key)
      if (existing) {
        this.issues.push(issueAt(v.doc, [v.kind], `Duplicate definition of "${key}": also defined in ${existing.v.doc.file}`, true))
        continue
      }
      this.units.set(key, { v, key })
      units.push(v)
    }
    this.issues.push(...scopePermissionConflicts(units))
  }

  compile(): CompiledPolicy[] {
    const out: CompiledPolicy[] = []
    const ordered = [...this.units.values()].sort((a, b) => (a.v.doc.file < b.v.doc.file ? -1 : a.v.doc.file > b.v.doc.file ? 1 : 0))
    const failed = new Set<string>()
    for (const unit of ordered) {
      const before = this.issues.length
      this.compileUnit(unit, out)
      if (this.issues.length > before) failed.add(unit.key)
    }
    this.validateUnimported()
    const dropped = new Set<string>()
    const present = new Map([...this.units].map(([key, unit]) => [key, unit.v]))
    for (const unit of ordered) {
      const found = checkAncestors(unit.v, unit.key, present, failed)
      this.issues.push(...found.issues)
      if (found.dropped) dropped.add(unit.key)
    }
    return dropped.size === 0 ? out : out.filter((p) => !dropped.has(p.key))
  }

  private compileUnit(unit: Unit, out: CompiledPolicy[]): void {
    const { def, doc } = unit.v
    if (def.resourcePolicy) {
      const p = this.resourcePolicy(unit)
      if (p) out.push(p)
    } else if (def.principalPolicy) {
      out.push(this.principalPolicy(unit))
    } else if (def.rolePolicy) {
      out.push(this.rolePolicy(unit))
    } else if (!def.derivedRoles && !def.exportVariables && !def.exportConstants) {
      this.issues.push(issueAt(doc, [], 'unknown policy kind'))
    }
    // Derived roles and exported definitions are compiled where they are imported, as in Cerbos.
  }



  /** Adds an issue and returns it (for issues that later ones may follow from). */
  private report(issue: PolicyIssue): PolicyIssue {
    this.issues.push(issue)
    return issue
  }

  /**
   * Compiles the derived roles and exported variables and constants that no policy imports: Cerbos
   * compiles them only where imported, so their mistakes would otherwise never be reported.
   */
  validateUnimported(): void {
    for (const unit of this.units.values()) {
      const def = unit.v.def
      if (def.derivedRoles) this.derivedRoleSet(def.derivedRoles.name)
      else if (def.exportVariables && !this.exportVariables.has(def.exportVariables.name)) this.exportVariablesScope(def.exportVariables.name)?.resolve()
      else if (def.exportConstants) this.exportConstantsScope(def.exportConstants.name)
    }
  }

  private exportConstantsScope(name: string): DefinitionScope | undefined {
    if (this.exportConstants.has(name)) return this.exportConstants.get(name)
    const unit = this.units.get(exportConstantsKey(name))
    const def = unit?.v.def.exportConstants
    if (!unit || !def) return undefined
    const scope = new DefinitionScope(this.issues, unit.v.doc)
    for (const [k, value] of Object.entries(def.definitions ?? {})) {
      const path: DocPath = ['exportConstants', 'definitions', k]
      const problem = identifierProblem(k)
      if (problem) this.issues.push(issueAt(unit.v.doc, path, problem, true))
      scope.addConstant(k, value, { doc: unit.v.doc, path, source: 'definitions' })
    }
    this.exportConstants.set(name, scope)
    return scope
  }

  private exportVariablesScope(name: string): DefinitionScope | undefined {
    if (this.exportVariables.has(name)) return this.exportVariables.get(name)
    const unit = this.units.get(exportVariablesKey(name))
    const def = unit?.v.def.exportVariables
    if (!unit || !def) return undefined
    const scope = new DefinitionScope(this.issues, unit.v.doc)
    for (const [k, expr] of Object.entries(def.definitions ?? {})) {
      const path: DocPath = ['exportVariables', 'definitions', k]
      const problem = identifierProblem(k)
      if (problem) this.issues.push(issueAt(unit.v.doc, path, problem, true))
      scope.addVariable(k, compileExpression({ doc: unit.v.doc, issues: this.issues }, expr, path), { doc: unit.v.doc, path, source: 'definitions' })
    }
    this.exportVariables.set(name, scope)
    return scope
  }

  /** Builds the variable/constant namespace of a policy (imports, local, deprecated top-level). */
  private definitions(
    doc: ParsedDocument,
    kindKey: string,
    constants: ConstantsDef | undefined,
    variables: VariablesDef | undefined,
    topLevel: Record<string, string> | undefined,
    expressions?: ExpressionSite[],
  ): DefinitionScope {
    const scope = new DefinitionScope(this.issues, doc)
    constants?.import?.forEach((imp, i) => {
      const imported = this.exportConstantsScope(imp)
      if (imported) scope.importFrom(imported, `import '${imp}'`)
      else scope.importMissing('constants', this.report(issueAt(doc, [kindKey, 'constants', 'import', i], `Constants import '${imp}' cannot be found`)))
    })
    for (const [k, value] of Object.entries(constants?.local ?? {})) {
      const path: DocPath = [kindKey, 'constants', 'local', k]
      const problem = identifierProblem(k)
      if (problem) this.issues.push(issueAt(doc, path, problem, true))
      scope.addConstant(k, value, { doc, path, source: 'policy local constants' })
    }
    variables?.import?.forEach((imp, i) => {
      const imported = this.exportVariablesScope(imp)
      if (imported) scope.importFrom(imported, `import '${imp}'`)
      else scope.importMissing('variables', this.report(issueAt(doc, [kindKey, 'variables', 'import', i], `Variables import '${imp}' cannot be found`)))
    })
    const addVariables = (defs: Record<string, string> | undefined, base: DocPath, source: string): void => {
      for (const [k, expr] of Object.entries(defs ?? {})) {
        const path: DocPath = [...base, k]
        const problem = identifierProblem(k)
        if (problem) this.issues.push(issueAt(doc, path, problem, true))
        const program = compileExpression({ doc, issues: this.issues }, expr, path)
        if (program) expressions?.push({ doc, path, program })
        scope.addVariable(k, program, { doc, path, source })
      }
    }
    addVariables(variables?.local, [kindKey, 'variables', 'local'], 'policy local variables')
    addVariables(topLevel, ['variables'], 'deprecated top-level policy variables')
    scope.resolve()
    return scope
  }

  private derivedRoleSet(name: string): Map<string, CompiledDerivedRole> | undefined {
    if (this.derivedRoleSets.has(name)) return this.derivedRoleSets.get(name)
    const unit = this.units.get(derivedRolesKey(name))
    const def = unit?.v.def.derivedRoles
    if (!unit || !def) return undefined
    const doc = unit.v.doc
    const expressions: ExpressionSite[] = []
    this.derivedRoleExpressions.set(name, expressions)
    const scope = this.definitions(doc, 'derivedRoles', def.constants, def.variables, unit.v.def.variables, expressions)
    const ctx: ExprContext = { doc, issues: this.issues, scope, expressions }
    const roles = new Map<string, CompiledDerivedRole>()
    def.definitions.forEach((d, i) => {
      scope.resetUsage()
      const condition = compileCondition(ctx, d.condition, ['derivedRoles', 'definitions', i, 'condition'])
      roles.set(d.name, {
        name: d.name,
        parentRoles: d.parentRoles.includes('*') ? ['*'] : [...new Set(d.parentRoles)],
        condition,
        params: scope.params(),
        setName: def.name,
      })
    })
    this.derivedRoleSets.set(name, roles)
    return roles
  }

  private importedDerivedRoles(unit: Unit): Map<string, CompiledDerivedRole> {
    const doc = unit.v.doc
    const rp = unit.v.def.resourcePolicy!
    const byRole = new Map<string, Array<{ imp: string; file: string; path: DocPath; role: CompiledDerivedRole }>>()
    let missingImport: PolicyIssue | undefined
    rp.importDerivedRoles?.forEach((imp, i) => {
      const path: DocPath = ['resourcePolicy', 'importDerivedRoles', i]
      const set = this.derivedRoleSet(imp)
      if (!set) {
        const issue = this.report(issueAt(doc, path, `Derived roles import "${imp}" cannot be found`))
        missingImport ??= issue
        return
      }
      const file = this.units.get(derivedRolesKey(imp))!.v.doc.file
      for (const role of set.values()) {
        const list = byRole.get(role.name) ?? []
        list.push({ imp, file, path, role })
        byRole.set(role.name, list)
      }
    })
    const referenced = new Map<string, CompiledDerivedRole>()
    const unknown = new Map<string, DocPath>()
    const ambiguous = new Set<string>()
    rp.rules?.forEach((rule, i) => {
      rule.derivedRoles?.forEach((name, j) => {
        const candidates = byRole.get(name)
        if (!candidates) {
          unknown.set(name, ['resourcePolicy', 'rules', i, 'derivedRoles', j])
        } else if (candidates.length > 1) {
          if (ambiguous.has(name)) return
          ambiguous.add(name)
          const list = candidates
            .map((c) => {
              const pos = doc.positionOf(c.path)
              return pos ? `${c.file} (imported as "${c.imp}" at ${pos.line}:${pos.column})` : `${c.file} (imported as "${c.imp}")`
            })
            .join(', ')
          this.issues.push(issueAt(doc, [], `Derived role "${name}" is defined in more than one import: ${list}`))
        } else {
          referenced.set(name, candidates[0]!.role)
        }
      })
    })
    for (const [name, path] of unknown) {
      // With an import missing, the role is most likely defined there: that issue is the one to fix.
      const message = `Derived role "${name}" is not defined in any imports`
      if (missingImport) this.issues.push({ ...issueAt(doc, path, message), causedBy: missingImport })
      else this.issues.push(issueAt(doc, path, `${message}${didYouMean(name, byRole.keys(), '"')}`))
    }
    return referenced
  }

  private checkSchemas(unit: Unit): void {
    const schemas = unit.v.def.resourcePolicy?.schemas
    for (const which of ['principalSchema', 'resourceSchema'] as const) {
      const ref = schemas?.[which]?.ref
      if (!ref) continue
      try {
        this.schemas.validator(ref)
      } catch (err) {
        const label = which === 'principalSchema' ? 'principal' : 'resource'
        this.issues.push(
          issueAt(unit.v.doc, ['resourcePolicy', 'schemas', which, 'ref'], `Failed to load ${label} schema "${ref}": ${err instanceof Error ? err.message : String(err)}`),
        )
      }
    }
  }

  /**
   * Warns about attribute paths that the resource policy's schemas do not define: such a read
   * compiles and yields nothing, so a typo silently denies. Evaluation does not change.
   */
  private checkAttributePaths(unit: Unit, expressions: readonly ExpressionSite[]): void {
    const schemas = unit.v.def.resourcePolicy?.schemas
    const refs = { principal: schemas?.principalSchema?.ref, resource: schemas?.resourceSchema?.ref }
    if (refs.principal === undefined && refs.resource === undefined) return
    for (const site of expressions) {
      for (const read of attributeReadsOf(site.program)) {
        const ref = refs[read.of]
        const schema = ref?.startsWith(SCHEMA_URL_PREFIX) ? this.schemaDocs.get(ref.slice(SCHEMA_URL_PREFIX.length)) : undefined
        if (ref === undefined || schema === undefined) continue
        const missing = undefinedAttribute(schema, read.path, this.schemaDocs)
        if (missing === undefined) continue
        const key = read.path[missing.index]!
        const shown = `request.${read.of}.attr.${read.path.slice(0, missing.index + 1).join('.')}`
        const warning = issueAt(site.doc, site.path, `${shown} is not defined in schema ${ref}${didYouMean(key, missing.known)}`)
        // The caret goes under the undefined key where the expression spells the path with dots.
        const written = new RegExp(`\\b(?:${read.of === 'principal' ? 'P|principal' : 'R|resource'})\\.attr\\.${read.path.slice(0, missing.index).map((k) => `${escapeRegExp(k)}\\.`).join('')}(?=${escapeRegExp(key)}\\b)`)
        const at = site.doc.positionWithin(site.path, (source) => {
          const m = written.exec(source)
          return m ? m.index + m[0].length : undefined
        })
        if (at) Object.assign(warning, { line: at.line, column: at.column })
        const same = (w: PolicyIssue): boolean => w.file === warning.file && w.line === warning.line && w.column === warning.column && w.message === warning.message
        if (!this.warnings.some(same)) this.warnings.push(warning)
      }
    }
  }

  private resourcePolicy(unit: Unit): CompiledResourcePolicy | undefined {
    const { doc, def } = unit.v
    const rp = def.resourcePolicy!
    const scopeName = rp.scope ?? ''
    const derivedRoles = this.importedDerivedRoles(unit)
    this.checkSchemas(unit)
    const expressions: ExpressionSite[] = []
    const scope = this.definitions(doc, 'resourcePolicy', rp.constants, rp.variables, def.variables, expressions)
    const ctx: ExprContext = { doc, issues: this.issues, scope, expressions }
    const rules: CompiledResourceRule[] = []
    ;(rp.rules ?? []).forEach((rule, i) => {
      const path: DocPath = ['resourcePolicy', 'rules', i]
      const name = rule.name || `rule-${String(i + 1).padStart(3, '0')}`
      if ((rule.roles ?? []).length === 0 && (rule.derivedRoles ?? []).length === 0) {
        this.issues.push(issueAt(doc, path, `Rule '${name}' does not specify any roles or derived roles to be matched`))
      }
      const roles = rule.roles ?? []
      rules.push({
        name,
        actions: [...new Set(rule.actions)],
        roles: roles.includes('*') ? ['*'] : [...new Set(roles)],
        derivedRoles: [...new Set(rule.derivedRoles ?? [])],
        effect: rule.effect,
        condition: compileCondition(ctx, rule.condition, [...path, 'condition']),
        output: compileOutput(ctx, rule.output, path),
      })
    })
    for (const imp of rp.importDerivedRoles ?? []) expressions.push(...(this.derivedRoleExpressions.get(imp) ?? []))
    this.checkAttributePaths(unit, expressions)
    return {
      kind: 'resource',
      key: unit.key,
      file: doc.file,
      resource: rp.resource,
      version: rp.version,
      scope: scopeName,
      scopePermissions: scopePermissionsOf(rp.scopePermissions),
      rules,
      derivedRoles,
      params: scope.params(),
      schemas: rp.schemas,
      annotations: def.metadata?.annotations ?? {},
    }
  }

  private principalPolicy(unit: Unit): CompiledPolicy {
    const { doc, def } = unit.v
    const pp = def.principalPolicy!
    const scopeName = pp.scope ?? ''
    const scope = this.definitions(doc, 'principalPolicy', pp.constants, pp.variables, def.variables)
    const ctx: ExprContext = { doc, issues: this.issues, scope }
    // Cerbos keys principal rules by resource: a later rule for the same resource replaces an earlier one.
    const byResource = new Map<string, CompiledPrincipalRule[]>()
    ;(pp.rules ?? []).forEach((rule, r) => {
      const list: CompiledPrincipalRule[] = []
      rule.actions.forEach((action, i) => {
        const path: DocPath = ['principalPolicy', 'rules', r, 'actions', i]
        list.push({
          name: action.name || `${rule.resource}_rule-${String(i + 1).padStart(3, '0')}`,
          resource: rule.resource,
          action: action.action,
          effect: action.effect,
          condition: compileCondition(ctx, action.condition, [...path, 'condition']),
          output: compileOutput(ctx, action.output, path),
        })
      })
      byResource.set(rule.resource, list)
    })
    return {
      kind: 'principal',
      key: unit.key,
      file: doc.file,
      principal: pp.principal,
      version: pp.version,
      scope: scopeName,
      scopePermissions: scopePermissionsOf(pp.scopePermissions),
      rules: [...byResource.values()].flat(),
      params: scope.params(),
      annotations: def.metadata?.annotations ?? {},
    }
  }

  private rolePolicy(unit: Unit): CompiledPolicy {
    const { doc, def } = unit.v
    const rp = def.rolePolicy!
    const scope = this.definitions(doc, 'rolePolicy', rp.constants, rp.variables, undefined)
    const ctx: ExprContext = { doc, issues: this.issues, scope }
    const rules: CompiledRoleRule[] = (rp.rules ?? []).map((rule, i) => {
      const path: DocPath = ['rolePolicy', 'rules', i]
      return {
        name: rule.name ?? '',
        resource: rule.resource,
        allowActions: [...new Set(rule.allowActions)],
        condition: compileCondition(ctx, rule.condition, [...path, 'condition']),
        output: compileOutput(ctx, rule.output, path),
      }
    })
    return {
      kind: 'role',
      key: unit.key,
      file: doc.file,
      role: rp.role,
      version: rp.version || 'default',
      scope: rp.scope ?? '',
      parentRoles: rp.parentRoles ?? [],
      rules,
      params: scope.params(),
      annotations: def.metadata?.annotations ?? {},
    }
  }
}

/** sha256 over the sorted (relative path, content) pairs. */
export function digestSources(entries: ReadonlyArray<{ path: string; text: string }>): string {
  const hash = createHash('sha256')
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(e.path).update('\0').update(e.text).update('\0')
  }
  return hash.digest('hex')
}

const isTextSource = (s: PolicySource | PolicyObjectSource): s is PolicySource => typeof (s as PolicySource).text === 'string'

/**
 * Compiles policies given as text (YAML or JSON) or as parsed objects.
 *
 * @param sources - one entry per policy file
 * @param options - JSON schemas referenced by resource policies
 * @returns the compiled set, ready for `EmbeddedEngine`
 * @throws PolicyError (`ERR_AUTHZ_POLICY_INVALID`) carrying every issue found, each with file and line
 * @example
 * ```ts
 * const set = compilePolicies([{ file: 'review.yaml', text: yamlText }])
 * ```
 */
export function compilePolicies(sources: ReadonlyArray<PolicySource | PolicyObjectSource>, options: CompileOptions = {}): CompiledPolicySet {
  const issues: PolicyIssue[] = []
  const validated: ValidatedDocument[] = []
  const digestInput: Array<{ path: string; text: string }> = []
  for (const source of sources) {
    const text = isTextSource(source) ? source.text : JSON.stringify(source.policy)
    digestInput.push({ path: source.file, text })
    const parsed = parsePolicyText(source.file, text)
    issues.push(...parsed.issues)
    if (parsed.docs.length > 1) {
      issues.push({ file: source.file, message: 'a policy file must contain exactly one policy document' })
      continue
    }
    for (const doc of parsed.docs) {
      const result = validateDocument(doc)
      if ('issues' in result) issues.push(...result.issues)
      else validated.push(result.ok)
    }
  }
  const schemaDocs = new Map<string, unknown>()
  const brokenSchemas = new Map<string, string>()
  for (const s of options.schemas ?? []) {
    digestInput.push({ path: `_schemas/${s.path}`, text: s.text })
    try {
      schemaDocs.set(s.path, JSON.parse(s.text))
    } catch (err) {
      // Only an error if a policy references it (reported there), as in Cerbos.
      brokenSchemas.set(s.path, err instanceof Error ? err.message : String(err))
    }
  }
  const registry = createSchemaRegistry(schemaDocs, brokenSchemas)
  const compiler = new SetCompiler(validated, registry, schemaDocs)
  const policies = compiler.compile()
  issues.push(...compiler.issues)
  if (issues.length > 0) throw new PolicyError(issues)
  return Object.freeze({
    policies: Object.freeze(policies),
    schemas: registry,
    digest: digestSources(digestInput),
    warnings: Object.freeze(compiler.warnings),
  })
}
