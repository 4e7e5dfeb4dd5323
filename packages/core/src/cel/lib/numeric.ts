import type { Environment } from '@marcbachmann/cel-js'
import { celEquals } from '../values.js'

/**
 * Cerbos turns on cel-go's `CrossTypeNumericComparisons` and heterogeneous equality: `1 == 1.0`,
 * `1u == 1`, `[1] == [1.0]` are true. The library already compares a `dyn` number with any number
 * and orders mixed numbers; these overloads add the statically typed equalities it rejects.
 * (`!=` and the mirrored operand order are derived by the library.) Statically typed list or
 * map literals of different numeric kinds (`[1] == [1.0]`) stay a known gap: registering those
 * overloads makes the library's nested-list lookups ambiguous. Values from attributes are `dyn`
 * and compare element-wise with cross-type numbers.
 */
export function registerNumericSemantics(env: Environment): void {
  const sameValue = (a: unknown, b: unknown): boolean => celEquals(a, b)
  env.registerOperator('int == double', sameValue)
  env.registerOperator('int == uint', sameValue)
  env.registerOperator('uint == double', sameValue)
  // cel-go compares optionals by presence and value (`optional.of(x) == optional.of(x)`).
  env.registerOperator('optional<A> == optional<A>', sameValue)
}
