import type { Environment } from '@marcbachmann/cel-js'
import { celEquals } from '../values.js'

/**
 * Numeric semantics as in Cerbos (cel-go with `CrossTypeNumericComparisons`): ordering works
 * across int, uint and double (`1 < 1.5u`), and `dyn` values (every JSON attribute) compare equal
 * across kinds at run time (`R.attr.n == 5` with n = 5.0). Statically typed equality across kinds
 * (`1 == 1.0`, `1 in [1.0]`) is a compile error in Cerbos, and the library rejects it the same
 * way, so no cross-kind `==` overload is added here.
 */
export function registerNumericSemantics(env: Environment): void {
  // cel-go compares optionals by presence and value (`optional.of(x) == optional.of(x)`).
  env.registerOperator('optional<A> == optional<A>', (a: unknown, b: unknown) => celEquals(a, b))
}
