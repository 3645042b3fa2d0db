import { describe, expect, it } from 'vitest'
import {
  type DesiredAction,
  desiredProblems,
  type ExistingAction,
  type ExistingBinding,
  mergeBindings,
  namespaceSecrets,
  nextBuildStep,
  planActionDeploy,
} from '../../src/core/action-deploy.ts'

const code = 'exports.onExecutePostLogin = async (event, api) => {}'
const desired: DesiredAction = { name: 'ours', code, runtime: 'node22', namespace: undefined, updateSecrets: false }
const existing: ExistingAction = {
  id: 'act_ours',
  name: 'ours',
  code,
  runtime: 'node22',
  secretNames: [],
  triggerIds: ['post-login'],
  status: 'built',
  allChangesDeployed: true,
}
const binding = (id: string, name: string): ExistingBinding => ({
  id: `bind_${id}`,
  actionId: `act_${id}`,
  actionName: name,
  displayName: name,
})
const others = [binding('mfa', 'MFA'), binding('geo', 'Geo block')]

describe('planActionDeploy', () => {
  it('a fresh tenant: create, deploy, bind after everyone else in their order', () => {
    const plan = planActionDeploy(undefined, others, desired)
    expect(plan.action).toEqual({ kind: 'create' })
    expect(plan.deploy).toBe(true)
    expect(plan.bindings).toEqual([
      { ref: { type: 'action_id', value: 'act_mfa' }, display_name: 'MFA' },
      { ref: { type: 'action_id', value: 'act_geo' }, display_name: 'Geo block' },
      { ref: { type: 'action_name', value: 'ours' }, display_name: 'ours' },
    ])
  })

  it('nothing to do when the tenant already runs this code, deployed and bound', () => {
    const plan = planActionDeploy(existing, [others[0] as ExistingBinding, binding('ours', 'ours')], desired)
    expect(plan).toMatchObject({
      action: { kind: 'unchanged' },
      secrets: undefined,
      deploy: false,
      bindings: undefined,
    })
  })

  it('changed code: update and deploy, the bindings stay as they are', () => {
    const plan = planActionDeploy({ ...existing, code: 'old' }, [binding('ours', 'ours')], desired)
    expect(plan.action).toEqual({ kind: 'update', changed: ['code'] })
    expect(plan.deploy).toBe(true)
    expect(plan.bindings).toBeUndefined()
  })

  it('a draft that was never deployed is deployed without an update', () => {
    const plan = planActionDeploy({ ...existing, allChangesDeployed: false }, [], desired)
    expect(plan.action.kind).toBe('unchanged')
    expect(plan.deploy).toBe(true)
    expect(plan.bindings?.at(-1)).toEqual({ ref: { type: 'action_id', value: 'act_ours' }, display_name: 'ours' })
  })

  it('the namespace secret is sent when missing, changed (its fingerprint) or asked for, never otherwise', () => {
    const withNs = { ...desired, namespace: 'https://claims.example.com/' }
    const secret = namespaceSecrets('https://claims.example.com/')
    expect(secret.map((one) => one.name)).toEqual([
      'CLAIM_NAMESPACE',
      expect.stringMatching(/^CLAIM_NAMESPACE_SHA256_[0-9A-F]{16}$/),
    ])
    expect(planActionDeploy(existing, [], withNs).secrets).toEqual(secret)
    const has = { ...existing, secretNames: secret.map((one) => one.name) }
    expect(planActionDeploy(has, [], withNs)).toMatchObject({ action: { kind: 'unchanged' }, secrets: undefined })
    const other = { ...withNs, namespace: 'https://other.example.com/' }
    expect(planActionDeploy(has, [], other).secrets).toEqual(namespaceSecrets('https://other.example.com/'))
    const unfingerprinted = { ...existing, secretNames: ['CLAIM_NAMESPACE'] }
    expect(planActionDeploy(unfingerprinted, [], withNs).secrets).toEqual(secret)
    expect(planActionDeploy(has, [], { ...withNs, updateSecrets: true }).secrets).toEqual(secret)
    expect(planActionDeploy(has, [], { ...withNs, code: 'x' }).secrets).toBeUndefined()
  })
})

describe('mergeBindings', () => {
  it('never drops or reorders anyone else, and recognises ours by name or id', () => {
    const ours = { ...binding('ours', 'renamed-display'), actionName: 'other-name' }
    expect(mergeBindings([...others, ours], 'ours', 'act_ours').bindings).toBeUndefined()
    const merged = mergeBindings(others, 'ours', 'act_ours').bindings ?? []
    expect(merged.map((entry) => entry.ref.value)).toEqual(['act_mfa', 'act_geo', 'act_ours'])
  })
})

describe('nextBuildStep and desiredProblems', () => {
  it('polls until built, fails on failed or after the wait', () => {
    expect(nextBuildStep('pending', 0, 1000)).toEqual({ next: 'poll' })
    expect(nextBuildStep('built', 5000, 1000)).toEqual({ next: 'deploy' })
    expect(nextBuildStep('failed', 0, 1000).next).toBe('fail')
    expect(nextBuildStep('building', 1000, 1000)).toMatchObject({
      next: 'fail',
      why: expect.stringMatching(/still "building"/),
    })
  })
  it('rejects a bad namespace, oversized code and code that is not an Action', () => {
    expect(desiredProblems({ ...desired, namespace: 'https://tenant.auth0.com/' })[0]).toMatch(/CLAIM_NAMESPACE/)
    expect(desiredProblems({ ...desired, code: `${code}\n//${'x'.repeat(102_400)}` })[0]).toMatch(/bytes/)
    expect(desiredProblems({ ...desired, code: 'module.exports = {}' })[0]).toMatch(/build:action/)
    expect(desiredProblems(desired)).toEqual([])
  })
})
