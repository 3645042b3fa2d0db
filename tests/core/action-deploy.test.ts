import { describe, expect, it } from 'vitest'
import {
  type ActionVersionInfo,
  buildFailureMessage,
  type DesiredAction,
  describeVersions,
  desiredProblems,
  type ExistingAction,
  type ExistingBinding,
  mergeBindings,
  namespaceSecrets,
  nextActivationStep,
  nextBindStep,
  nextBuildStep,
  planActionDeploy,
  planRollback,
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
    expect(nextBuildStep('failed', 0, 1000)).toEqual({ next: 'build-failed' })
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

const version = (number: number, code: string, extra: Partial<ActionVersionInfo> = {}): ActionVersionInfo => ({
  id: `ver_${number}`,
  number,
  deployed: false,
  status: 'built',
  createdAt: `2026-05-0${number}T10:00:00Z`,
  code,
  secretNames: ['CLAIM_NAMESPACE'],
  errors: [],
  ...extra,
})

describe('a failed build, the binding lag and activation', () => {
  it("names Auth0's errors from the newest failed version, or where to look when Auth0 gives none", () => {
    const failed = version(3, 'x', {
      status: 'failed',
      errors: [{ id: 'build_failed', msg: 'Cannot find module lodash' }],
    })
    const older = version(2, 'y', { status: 'failed', errors: [{ id: 'old', msg: 'older failure' }] })
    const message = buildFailureMessage('ours', [version(1, 'a', { deployed: true }), older, failed])
    expect(message).toMatch(
      /Auth0 could not build the Action "ours" \(Auth0: Cannot find module lodash \(build_failed\)\)/,
    )
    expect(message).not.toContain('older failure')
    expect(message).toMatch(/Nothing was deployed or bound/)
    expect(buildFailureMessage('ours', [])).toMatch(/gave no reason through the API: open Actions > Library/)
  })

  it('retries the binding until the bound, then stops saying what to do', () => {
    expect(nextBindStep(0, 30_000, 2)).toEqual({ next: 'retry' })
    expect(nextBindStep(29_999, 30_000, 2)).toEqual({ next: 'retry' })
    expect(nextBindStep(30_000, 30_000, 2)).toMatchObject({
      next: 'fail',
      why: expect.stringMatching(/30 s after deploying version 2.*run the command again/),
    })
  })

  it('waits for a deployed version to take over, within the bound', () => {
    expect(nextActivationStep({ deployed: true, number: 2 }, 99_999, 1)).toEqual({ next: 'done' })
    expect(nextActivationStep({ deployed: false, number: 2 }, 0, 1000)).toEqual({ next: 'poll' })
    expect(nextActivationStep({ deployed: false, number: 2 }, 1000, 1000).next).toBe('fail')
  })
})

describe('planRollback', () => {
  const v1 = version(1, 'A')
  const v2 = version(2, 'B')
  const v3 = version(3, 'C', { status: 'failed' })
  const v4 = version(4, 'C2', { deployed: true })

  it('by default: the newest built version before the deployed one', () => {
    expect(planRollback([v1, v2, v3, v4], undefined)).toMatchObject({ kind: 'rollback', target: v2, deployed: v4 })
  })

  it('skips versions whose content is what is deployed (a rollback copy), and failed builds', () => {
    const copy = version(5, 'B', { deployed: true })
    const plan = planRollback([v1, v2, v3, { ...v4, deployed: false }, copy], undefined)
    expect(plan).toMatchObject({ kind: 'rollback', target: { number: 4 } })
  })

  it('a named version: rolled back to, or nothing to do when its code is deployed (re-run safe)', () => {
    expect(planRollback([v1, v2, v4], 1)).toMatchObject({ kind: 'rollback', target: v1 })
    const copy = version(5, 'A', { deployed: true })
    expect(planRollback([v1, v2, { ...v4, deployed: false }, copy], 1)).toEqual({
      kind: 'nothing',
      why: "version 1's code is already deployed (as version 5)",
    })
    expect(planRollback([v1, v4], 4)).toMatchObject({ kind: 'nothing' })
  })

  it('refuses what cannot be deployed, naming the versions there are', () => {
    expect(planRollback([v1, v4], 9)).toMatchObject({
      kind: 'fail',
      why: expect.stringMatching(/no version 9 \(versions: 4, 1\)/),
    })
    expect(planRollback([v1, v3, v4], 3)).toMatchObject({ kind: 'fail', why: expect.stringMatching(/never built/) })
    expect(planRollback([version(1, 'A', { deployed: true })], undefined)).toMatchObject({ kind: 'fail' })
    expect(planRollback([v1], undefined)).toMatchObject({
      kind: 'fail',
      why: expect.stringMatching(/no version is deployed/),
    })
  })

  it('lists versions newest first with their state', () => {
    const lines = describeVersions('ours', [v1, v3, v4])
    expect(lines[0]).toBe('versions of Action "ours" (newest first):')
    expect(lines.slice(1).map((line) => line.trim().split(/\s{2,}/))).toEqual([
      ['4', 'deployed', 'created 2026-05-04T10:00:00Z'],
      ['3', 'build failed', 'created 2026-05-03T10:00:00Z'],
      ['1', '-', 'created 2026-05-01T10:00:00Z'],
    ])
  })
})
