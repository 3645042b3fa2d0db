/**
 * A type index for the Content Lake emulator: `*[_type == "x" && …]` scans only the documents of type `x`, as
 * the Content Lake's own index does. groq-js evaluates `*` as the whole dataset every time, so a subquery in a
 * projection (the policy query resolves each policy's plan with `*[_type == "plan" && …]`) cost a full scan per
 * result: 1 000 policies over 10 000 documents made one page take over a minute. The rewrite only swaps the
 * filter's base for the same documents already narrowed by type, so results are unchanged.
 */
type Doc = { readonly [key: string]: unknown }
type Node = Record<string, unknown>

export function narrowByType<T>(node: T, byType: ReadonlyMap<string, readonly Doc[]>): T {
  if (Array.isArray(node)) return node.map((item) => narrowByType(item, byType)) as T
  if (typeof node !== 'object' || node === null) return node
  const record = node as Node
  const rewritten = Object.fromEntries(
    Object.entries(record).map(([key, value]) => [key, narrowByType(value, byType)]),
  ) as Node
  if (record.type === 'Filter' && isNode(record.base) && record.base.type === 'Everything') {
    const type = requiredType(record.expr)
    if (type !== undefined) return { ...rewritten, base: { type: 'Value', value: byType.get(type) ?? [] } } as T
  }
  return rewritten as T
}

/** Documents grouped by `_type`, in the given order. */
export function indexByType(docs: readonly Doc[]): Map<string, Doc[]> {
  const byType = new Map<string, Doc[]>()
  for (const doc of docs) {
    if (typeof doc._type !== 'string') continue
    const list = byType.get(doc._type)
    if (list) list.push(doc)
    else byType.set(doc._type, [doc])
  }
  return byType
}

/** The type a filter requires: a `_type == "x"` conjunct at the top of its `&&` chain. */
function requiredType(expr: unknown): string | undefined {
  if (!isNode(expr)) return undefined
  if (expr.type === 'And') return requiredType(expr.left) ?? requiredType(expr.right)
  if (expr.type !== 'OpCall' || expr.op !== '==') return undefined
  const [left, right] = [expr.left, expr.right]
  if (isTypeAttribute(left) && isString(right)) return right.value as string
  if (isTypeAttribute(right) && isString(left)) return left.value as string
  return undefined
}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value)
const isTypeAttribute = (value: unknown) =>
  isNode(value) && value.type === 'AccessAttribute' && value.name === '_type' && value.base === undefined
const isString = (value: unknown): value is Node =>
  isNode(value) && value.type === 'Value' && typeof value.value === 'string'
