import type { ASTNode } from '@marcbachmann/cel-js'
import { ConditionError } from '../errors.js'
import { walk } from './ast.js'

/** The parts of the library's evaluator and checked nodes that the replacement uses. */
interface Evaluator {
  run(node: unknown, ctx: unknown): unknown
  tryEval(node: unknown, ctx: unknown): unknown
}
interface CheckedLogicalNode {
  left: unknown
  right: unknown
}
type Evaluate = (ev: Evaluator, node: CheckedLogicalNode, ctx: unknown) => unknown

function notBool(): ConditionError {
  return new ConditionError('no such overload', { reason: 'no_such_overload' })
}

/**
 * cel-go's commutative `&&` / `||`: a decisive operand on either side wins over an error on the
 * other; when neither side decides, the LEFT error is reported (the library reported the right
 * one, which changes Cerbos's `evaluationErrors`).
 */
function logical(decisive: boolean): Evaluate {
  return (ev, node, ctx) => {
    const left = ev.tryEval(node.left, ctx)
    if (left === decisive) return decisive
    if (left === !decisive) {
      const right = ev.run(node.right, ctx)
      if (typeof right === 'boolean') return right
      throw notBool()
    }
    const right = ev.tryEval(node.right, ctx)
    if (right === decisive) return decisive
    throw left instanceof Error ? left : notBool()
  }
}

const AND = logical(false)
const OR = logical(true)

/** Installs the cel-go `&&`/`||` evaluation on every logical node of a parsed expression. */
export function useCelGoLogic(root: ASTNode): void {
  walk(root, (node) => {
    if (node.op !== '&&' && node.op !== '||') return
    ;(node as unknown as { setMeta(key: string, value: unknown): void }).setMeta('evaluate', node.op === '&&' ? AND : OR)
  })
}
