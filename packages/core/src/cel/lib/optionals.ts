import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'
import { Duration, Optional, UnsignedInt } from '../values.js'
import type { Checker, Evaluator, MacroInput, ScopeContext } from './macro-hooks.js'

/** cel-go's zero values: what `optional.ofNonZeroValue` turns into `optional.none()`. */
function isZero(value: unknown): boolean {
  if (value === null || value === false || value === 0 || value === 0n || value === '') return true
  if (value instanceof UnsignedInt) return value.valueOf() === 0n
  if (value instanceof Uint8Array || Array.isArray(value)) return value.length === 0
  if (value instanceof Map) return value.size === 0
  if (value instanceof Duration) return value.seconds === 0n && value.nanos === 0
  if (value instanceof Date) return value.getTime() === 0
  if (value instanceof Optional) return !value.hasValue()
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.keys(value).length === 0
  return false
}

/** `opt.optMap(x, expr)` / `opt.optFlatMap(x, expr)`: apply `expr` to a present value. */
function optionalMap(flat: boolean) {
  const name = flat ? 'optFlatMap' : 'optMap'
  return ({ args, receiver }: MacroInput) => {
    const variable = args[0]!
    const body = args[1]!
    if (variable.op !== 'id') throw new ConditionError(`${name}: the variable must be an identifier`, { reason: 'parse_error' })
    const binding = variable.args
    return {
      typeCheck(chk: Checker, _macro: unknown, ctx: ScopeContext): unknown {
        chk.check(receiver, ctx)
        chk.check(body, ctx.forkWithVariable(binding, chk.dynType))
        return chk.getType('optional')
      },
      evaluate(ev: Evaluator, _macro: unknown, ctx: ScopeContext): unknown {
        const optional = ev.run(receiver, ctx)
        if (!(optional instanceof Optional)) throw new ConditionError(`${name}: receiver must be optional`, { reason: 'no_such_overload' })
        if (!optional.hasValue()) return optional
        const result = ev.run(body, ctx.forkWithVariable(binding, ev.dynType).setIterValue(optional.value(), ev))
        if (!flat) return Optional.of(result)
        if (result instanceof Optional) return result
        throw new ConditionError('optFlatMap: the expression must return an optional', { reason: 'no_such_overload' })
      },
    }
  }
}

/** Registers the optional helpers the library lacks: `ofNonZeroValue`, `optMap`, `optFlatMap`. */
export function registerOptionals(env: Environment): void {
  env.registerFunction('OptionalNamespace.ofNonZeroValue(dyn): optional', (_: unknown, value: unknown) =>
    isZero(value) ? Optional.none() : Optional.of(value),
  )
  env.registerFunction('optional.optMap(ast, ast): optional', optionalMap(false))
  env.registerFunction('optional.optFlatMap(ast, ast): optional', optionalMap(true))
}
