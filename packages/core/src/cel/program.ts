import type { ASTNode, ParseResult } from '@marcbachmann/cel-js'
import { ConditionError } from '../errors.js'
import { collectAttributeReads, collectRefs, forEachLiteralArgument, type AttributeRead, rejectIndexedCerbosMaps, renameCalls, rewriteProtoFieldNames } from './ast.js'
import { cerbosEnvironment } from './environment.js'
import { FALLBACK, compileFastPath, compileLeadingPathGuard, type FastPath } from './fast-path.js'
import { CelFailure, toConditionError } from './failure.js'
import { useCelGoLogic } from './logic.js'
import { useCelGoPresence } from './presence.js'
import { INT_CONVERSION, STRING_CONVERSION } from './lib/conversions.js'
import { parseStrictCIDR, parseStrictIP } from './lib/ip.js'
import { RE2_MATCHES, re2 } from './lib/regex.js'
import { STRING_RENAMES } from './lib/strings.js'
import { TIMESTAMP_CONVERSION, ZONED_GETTERS, isDurationText, parseTimestamp } from './lib/time.js'
import { CERBOS_IDENTIFIERS, scope } from './scope.js'
import { pauseStackCapture, resumeStackCapture } from './stack-capture.js'
import type { CelActivation, CelProgram } from './types.js'

const VARIABLE_MAPS: ReadonlySet<string> = new Set(['V', 'variables'])
const CONSTANT_MAPS: ReadonlySet<string> = new Set(['C', 'constants'])
const SCOPE_IDENTIFIERS: ReadonlySet<string> = new Set(CERBOS_IDENTIFIERS)
const RENAMES: ReadonlyMap<string, string> = new Map([
  ['matches', RE2_MATCHES],
  ['int', INT_CONVERSION],
  ['string', STRING_CONVERSION],
  ['timestamp', TIMESTAMP_CONVERSION],
  ...STRING_RENAMES,
])

/**
 * Rewrites a freshly parsed tree before type-checking: Cerbos's protobuf field spellings, the
 * replacements of library built-ins, cel-go's `&&`/`||`, and compile-time validation of regex,
 * timestamp, duration, ip and cidr literals (as Cerbos does).
 */
export function prepareAst(ast: ASTNode): void {
  rejectIndexedCerbosMaps(ast)
  rewriteProtoFieldNames(ast)
  useCelGoLogic(ast)
  useCelGoPresence(ast)
  renameCalls(ast, RENAMES, ZONED_GETTERS)
  forEachLiteralArgument(ast, RE2_MATCHES, (pattern) => void re2(pattern))
  forEachLiteralArgument(ast, TIMESTAMP_CONVERSION, (text) => void parseTimestamp(text))
  forEachLiteralArgument(ast, 'ip', (text) => {
    if (parseStrictIP(text) === undefined) throw new ConditionError(`invalid ip argument: ${JSON.stringify(text)}`, { reason: 'invalid_argument' })
  })
  forEachLiteralArgument(ast, 'cidr', (text) => {
    if (parseStrictCIDR(text) === undefined) throw new ConditionError(`invalid cidr argument: ${JSON.stringify(text)}`, { reason: 'invalid_argument' })
  })
  forEachLiteralArgument(ast, 'duration', (text) => {
    if (!isDurationText(text)) throw new ConditionError(`invalid duration literal: ${JSON.stringify(text)}`, { reason: 'invalid_argument' })
  })
}

class CompiledCel implements CelProgram {
  readonly source: string
  readonly variableRefs: ReadonlySet<string>
  readonly constantRefs: ReadonlySet<string>
  readonly #run: ParseResult
  readonly #fast: FastPath | undefined
  #attributeReads: readonly AttributeRead[] | undefined

  constructor(source: string, run: ParseResult, fastPath: boolean) {
    this.source = source
    this.#run = run
    this.#fast = fastPath ? (compileFastPath(run.ast, SCOPE_IDENTIFIERS) ?? compileLeadingPathGuard(run.ast, SCOPE_IDENTIFIERS)) : undefined
    this.variableRefs = collectRefs(run.ast, VARIABLE_MAPS)
    this.constantRefs = collectRefs(run.ast, CONSTANT_MAPS)
  }

  /** The attribute paths this expression reads (computed when first asked: only diagnostics need them). */
  get attributeReads(): readonly AttributeRead[] {
    this.#attributeReads ??= collectAttributeReads(this.#run.ast)
    return this.#attributeReads
  }

  evaluate(activation: CelActivation): unknown {
    const result = this.evaluateQuietly(activation)
    if (result instanceof CelFailure) throw result.toError()
    return result
  }

  /** {@link evaluateQuietly} for this program. */
  evaluateQuietly(activation: CelActivation): unknown {
    const previous = scope.activation
    scope.activation = activation
    try {
      const fast = this.#fast
      if (fast !== undefined) {
        let result: unknown
        try {
          result = fast.run(scope as unknown as Record<string, unknown>)
        } catch (err) {
          // e.g. a failed variable was read. Under `&&`/`||` the library decides whether it matters.
          if (fast.failuresAreExact) return CelFailure.of(err)
          result = FALLBACK
        }
        if (result !== FALLBACK) return result
      }
      return this.#runLibrary()
    } finally {
      scope.activation = previous
    }
  }

  /** Runs the library with stack capture paused: the errors it throws here never reach a caller as they are. */
  #runLibrary(): unknown {
    const stacks = pauseStackCapture()
    try {
      return this.#run(scope)
    } catch (err) {
      return CelFailure.of(err)
    } finally {
      resumeStackCapture(stacks)
    }
  }
}

/**
 * The attribute paths (`request.resource.attr.x.y`) a compiled program reads with literal keys, for
 * diagnostics. Internal: not re-exported from the package.
 */
export function attributeReadsOf(program: CelProgram): readonly AttributeRead[] {
  return program instanceof CompiledCel ? program.attributeReads : []
}

/**
 * Evaluates a program without throwing: a failure comes back as a {@link CelFailure} (no error
 * object, no stack trace), for the engine, which records the message and treats the condition as
 * not met. Internal: not re-exported from the package.
 *
 * @returns the CEL value, or a CelFailure with exactly the message and reason `evaluate` would throw
 */
export function evaluateQuietly(program: CelProgram, activation: CelActivation): unknown {
  if (program instanceof CompiledCel) return program.evaluateQuietly(activation)
  try {
    return program.evaluate(activation)
  } catch (err) {
    return CelFailure.of(err)
  }
}

/**
 * Compiles a Cerbos condition expression once: parses it, maps the protobuf field spellings
 * (`request.aux_data`), type-checks it against the Cerbos environment and records which variables
 * and constants it reads.
 *
 * @param source - the CEL expression as written in the policy
 * @returns a program to evaluate against many activations
 * @throws ConditionError (reason `parse_error`, `type_error`, ...) when the expression is invalid
 */
export function compileCel(source: string): CelProgram {
  return compileCelProgram(source, { fastPath: true })
}

/** Internal options of {@link compileCelProgram}. */
export interface CompileOptions {
  /** Use the direct JS closure for simple expressions (default in {@link compileCel}); tests turn it off to compare. */
  readonly fastPath: boolean
}

/** {@link compileCel} with internal options; not part of the public API. */
export function compileCelProgram(source: string, options: CompileOptions): CelProgram {
  if (typeof source !== 'string') throw new ConditionError('CEL expression must be a string', { reason: 'invalid_expression' })
  let run: ParseResult
  try {
    run = cerbosEnvironment().parse(source)
    prepareAst(run.ast)
  } catch (err) {
    throw toConditionError(err, 'compile')
  }
  const checked = run.check()
  if (!checked.valid) throw toConditionError(checked.error, 'compile')
  return new CompiledCel(source, run, options.fastPath)
}
