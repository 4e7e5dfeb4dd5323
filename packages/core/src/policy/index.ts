// Public API of the policy module: named exports only. Owned by the policy work stream.
/**
 * Policy loading and compilation.
 *
 * - {@link loadPolicyDirectory}`(dir)`: read a directory like the Cerbos disk store and compile it.
 * - {@link readPolicyDirectory}`(dir)`: list/read its policy files, `_schemas/` and test suites.
 * - {@link compilePolicies}`(sources, { schemas })`: compile in-memory policies (text or objects).
 *
 * Every failure is one `PolicyError` carrying all issues (`{file, line, column, path, message}`);
 * problems that do not stop loading are the compiled set's `warnings`.
 */
export { compilePolicies, digestSources } from './compile.js'
export type { CompileOptions, PolicySource, PolicyObjectSource } from './compile.js'
export { loadPolicyDirectory, readPolicyDirectory } from './disk-store.js'
export type { LoadPolicyDirectoryOptions, PolicyDirectoryFiles } from './disk-store.js'
export type {
  CompiledPolicySet,
  CompiledPolicy,
  CompiledResourcePolicy,
  CompiledPrincipalPolicy,
  CompiledRolePolicy,
  CompiledResourceRule,
  CompiledPrincipalRule,
  CompiledRoleRule,
  CompiledDerivedRole,
  CompiledCondition,
  CompiledOutput,
  CompiledParams,
  CompiledVariable,
} from './compiled.js'
export type { ScopePermissions } from './model.js'
export type { SchemaRegistry } from './schemas.js'
export { compileGlob, matchesGlob } from './glob.js'
export type { GlobMatcher } from './glob.js'
export { parsePolicyText, formatDocPath } from './yaml-source.js'
export type { ParsedDocument, DocPath } from './yaml-source.js'
export { resourcePolicyKey, principalPolicyKey, rolePolicyKey } from './names.js'
