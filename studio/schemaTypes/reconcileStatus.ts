import { defineArrayMember, defineField, defineType } from 'sanity'
import { RECONCILE_OUTCOMES, RECONCILE_STATUS_TYPE } from '../../src/reconcile-status.ts'

/**
 * Written by the scheduled repair after every run (see src/reconcile-status.ts), one document for the dataset.
 * Never edited in the Studio: read-only, and no document actions at all.
 */
const runFields = [
  defineField({ name: 'outcome', title: 'Outcome', type: 'string', options: { list: [...RECONCILE_OUTCOMES] } }),
  defineField({ name: 'runAt', title: 'Run at', type: 'datetime' }),
  defineField({ name: 'driftFound', title: 'Drift found (organizations)', type: 'number' }),
  defineField({ name: 'driftFixed', title: 'Drift fixed', type: 'number' }),
  defineField({ name: 'failures', title: 'Failures', type: 'number' }),
  defineField({ name: 'unfinished', title: 'Left for the next run', type: 'number' }),
]

const failure = defineType({
  name: 'accessPolicyReconcileFailure',
  title: 'Failure',
  type: 'object',
  fields: [
    defineField({ name: 'organizationId', title: 'Auth0 Organization ID', type: 'string' }),
    defineField({ name: 'policyId', title: 'Policy ID', type: 'string' }),
    defineField({ name: 'status', title: 'Status', type: 'string' }),
    defineField({ name: 'reason', title: 'Reason', type: 'string' }),
    defineField({ name: 'message', title: 'Message', type: 'text' }),
  ],
  preview: { select: { title: 'organizationId', subtitle: 'reason' } },
})

const run = defineType({
  name: 'accessPolicyReconcileRun',
  title: 'Run',
  type: 'object',
  fields: runFields,
  preview: { select: { title: 'outcome', subtitle: 'runAt' } },
})

export const reconcileStatusTypes = [
  failure,
  run,
  defineType({
    name: RECONCILE_STATUS_TYPE,
    title: 'Auth0 scheduled repair',
    type: 'document',
    readOnly: true,
    // Written by the scheduled function only: editors can neither create, edit, publish nor delete it. The option
    // is Sanity's (alpha, read by the document pane) but not in DocumentDefinition's type, hence the spread.
    ...({ __experimental_actions: [] } as object),
    fields: [
      ...runFields,
      defineField({ name: 'message', title: 'Message', type: 'text' }),
      defineField({ name: 'organizations', title: 'Organizations looked at', type: 'number' }),
      defineField({ name: 'policies', title: 'Published policies', type: 'number' }),
      defineField({ name: 'durationSeconds', title: 'Duration (seconds)', type: 'number' }),
      defineField({
        name: 'passComplete',
        title: 'Pass over the tenant complete (next run starts over)',
        type: 'boolean',
      }),
      defineField({
        name: 'cursor',
        title: 'Next run resumes at',
        type: 'object',
        fields: [
          defineField({ name: 'from', title: 'Auth0 list checkpoint (empty: first page)', type: 'string' }),
          defineField({ name: 'after', title: 'After Organization', type: 'string' }),
        ],
      }),
      defineField({
        name: 'failed',
        title: 'Failures of the last run',
        type: 'array',
        of: [defineArrayMember({ type: 'accessPolicyReconcileFailure' })],
      }),
      defineField({
        name: 'history',
        title: 'Recent runs (newest first)',
        type: 'array',
        of: [defineArrayMember({ type: 'accessPolicyReconcileRun' })],
      }),
    ],
    preview: {
      select: { outcome: 'outcome', runAt: 'runAt', found: 'driftFound', fixed: 'driftFixed' },
      prepare: ({ outcome, runAt, found, fixed }) => ({
        title: `Scheduled repair: ${outcome ?? 'never run'}`,
        subtitle: `${runAt ?? ''} · drift ${found ?? 0}, fixed ${fixed ?? 0}`,
      }),
    },
  }),
]
