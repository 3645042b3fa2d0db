import type { DocumentActionComponent, DocumentActionsContext } from 'sanity'
import { FANOUT_KINDS, FANOUT_STATUS_TYPE, type FanOutKind } from '../../src/core/fanout.ts'
import { deleteBlocked } from './present.ts'
import { useUsage } from './use-fan-out.ts'

/** The actions that take a role or plan away from the policies using it. */
const GUARDED = ['delete', 'unpublish']

/** One wrapper per original action and kind, so the component's identity is stable across resolver calls. */
const wrappers = new WeakMap<DocumentActionComponent, Map<FanOutKind, DocumentActionComponent>>()

/** Delete and unpublish of a role or plan that published policies use: disabled, saying which and what to do. */
function guard(kind: FanOutKind, original: DocumentActionComponent): DocumentActionComponent {
  const known = wrappers.get(original)?.get(kind)
  if (known) return known
  // biome-ignore lint/correctness/noComponentHookFactories: wrapping a Studio action takes a factory; memoized above
  const Guarded: DocumentActionComponent = (props) => {
    const description = original(props)
    const key = (props.published as { key?: { current?: string } } | null)?.key?.current ?? null
    const reason = deleteBlocked(kind, useUsage(kind, props.id, key))
    if (!description || !reason) return description
    return { ...description, disabled: true, title: reason }
  }
  Guarded.action = original.action
  Guarded.displayName = `Guarded(${original.action ?? 'action'})`
  wrappers.set(original, (wrappers.get(original) ?? new Map()).set(kind, Guarded))
  return Guarded
}

/** `document.actions` for the Studio: role and plan deletes guarded; fan-out statuses get no actions at all. */
export function fanOutActions(
  previous: DocumentActionComponent[],
  context: Pick<DocumentActionsContext, 'schemaType'>,
): DocumentActionComponent[] {
  if (context.schemaType === FANOUT_STATUS_TYPE) return []
  const kind = FANOUT_KINDS.find((candidate) => candidate === context.schemaType)
  if (!kind) return previous
  return previous.map((action) => (action.action && GUARDED.includes(action.action) ? guard(kind, action) : action))
}
