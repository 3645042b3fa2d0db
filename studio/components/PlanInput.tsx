import { useEffect, useState } from 'react'
import { type StringInputProps, set, unset, useClient } from 'sanity'
import type { PlanOption } from '../../src/core/plans.ts'
import { PUBLISHED_PLANS_QUERY } from '../queries.ts'

const API_VERSION = '2025-05-01'

/**
 * The plan picker: the published plans' keys, read from the plan documents (never a list in code). A key no
 * published plan has is shown as such, and validation refuses it.
 */
export function PlanInput(props: StringInputProps) {
  const client = useClient({ apiVersion: API_VERSION })
  const [plans, setPlans] = useState<PlanOption[] | undefined>(undefined)
  useEffect(() => {
    let live = true
    client
      .fetch(PUBLISHED_PLANS_QUERY, {}, { perspective: 'published', tag: 'access-policy-plans' })
      .then((result) => {
        if (live) setPlans(result.flatMap((plan) => (plan.key ? [{ key: plan.key, title: plan.title }] : [])))
      })
      .catch(() => {
        if (live) setPlans([])
      })
    return () => {
      live = false
    }
  }, [client])
  const value = props.value ?? ''
  const unknown = value !== '' && plans !== undefined && !plans.some((plan) => plan.key === value)
  return (
    <select
      aria-label="Plan"
      value={value}
      disabled={props.readOnly || plans === undefined}
      onChange={(event) => props.onChange(event.target.value ? set(event.target.value) : unset())}
      style={{ width: '100%', padding: '0.5rem', font: 'inherit' }}
    >
      <option value="">{plans === undefined ? 'Loading plans…' : 'Pick a plan'}</option>
      {unknown ? <option value={value}>{`${value} (no published plan has this key)`}</option> : null}
      {(plans ?? []).map((plan) => (
        <option key={plan.key} value={plan.key}>
          {plan.title ? `${plan.title} (${plan.key})` : plan.key}
        </option>
      ))}
    </select>
  )
}
