/**
 * `text::query()`, which groq-js does not implement ("not implemented") and the Studio's document lists and search
 * use: `*[[@, _id] match text::query($q) || references($raw)]`. Each `<x> match text::query("<terms>")` in the
 * parsed query is replaced by `_id in [<the ids of the documents that match>]`, computed here over the documents
 * the query sees. A document matches when every term (`*` = any) is a case-insensitive word prefix of one of its
 * string values, at any depth; `-term` excludes. An approximation of Content Lake's text search, enough for the
 * Studio's lists and search box.
 */
import type { ExprNode } from 'groq-js'

type Doc = Record<string, unknown>

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value.toLowerCase())
  else if (Array.isArray(value)) for (const item of value) strings(item, out)
  else if (value && typeof value === 'object') for (const item of Object.values(value)) strings(item, out)
  return out
}

export function textMatches(query: string, doc: Doc): boolean {
  const terms = query
    .toLowerCase()
    .split(/\s+/)
    .map((term) => term.replace(/\*/g, ''))
    .filter((term) => term !== '' && term !== '-')
  if (terms.length === 0) return true
  const words = strings(doc).flatMap((text) => text.split(/[^\p{L}\p{N}_]+/u).filter(Boolean))
  const has = (term: string) => words.some((word) => word.startsWith(term))
  return terms.every((term) => (term.startsWith('-') ? !has(term.slice(1)) : has(term)))
}

const isTextQuery = (node: unknown): node is { type: 'FuncCall'; args: ExprNode[] } =>
  typeof node === 'object' &&
  node !== null &&
  (node as { type?: unknown }).type === 'FuncCall' &&
  (node as { namespace?: unknown }).namespace === 'text' &&
  (node as { name?: unknown }).name === 'query'

/** The query tree with each `match text::query(…)` resolved against `docs`; other nodes are left as they are. */
export function resolveTextQueries<T>(node: T, docs: readonly Doc[]): T {
  if (Array.isArray(node)) return node.map((item) => resolveTextQueries(item, docs)) as T
  if (typeof node !== 'object' || node === null) return node
  const record = node as Record<string, unknown>
  if (record.type === 'OpCall' && record.op === 'match' && isTextQuery(record.right)) {
    const [arg] = record.right.args
    const query = arg?.type === 'Value' && typeof arg.value === 'string' ? arg.value : ''
    const ids = docs.filter((doc) => textMatches(query, doc)).map((doc) => doc._id)
    return {
      type: 'OpCall',
      op: 'in',
      left: { type: 'AccessAttribute', name: '_id' },
      right: { type: 'Value', value: ids },
    } as T
  }
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, resolveTextQueries(value, docs)])) as T
}
