import { defineArrayMember, defineField, defineType } from 'sanity'
import { FANOUT_STATUS_TYPE } from '../../src/core/fanout.ts'

/**
 * Written by the fan-out functions (functions/fan-out-role, functions/fan-out-plan), one per role or plan: the
 * Organizations still to re-sync and how the last runs went. Read-only; the role's and plan's "Auth0 fan-out" view
 * presents it.
 */
const invalidPolicy = defineType({
  name: 'accessFanOutInvalidPolicy',
  title: 'Invalid policy',
  type: 'object',
  fields: [
    defineField({ name: 'policyId', title: 'Policy ID', type: 'string' }),
    defineField({ name: 'organizationId', title: 'Auth0 Organization ID', type: 'string' }),
    defineField({ name: 'message', title: 'Message', type: 'text' }),
  ],
})

const failure = defineType({
  name: 'accessFanOutFailure',
  title: 'Failure',
  type: 'object',
  fields: [
    defineField({ name: 'organizationId', title: 'Auth0 Organization ID', type: 'string' }),
    defineField({ name: 'reason', title: 'Reason', type: 'string' }),
    defineField({ name: 'message', title: 'Message', type: 'text' }),
  ],
})

const run = defineType({
  name: 'accessFanOutRun',
  title: 'Run',
  type: 'object',
  fields: [
    defineField({ name: 'at', title: 'At', type: 'datetime' }),
    defineField({ name: 'handled', title: 'Organizations handled', type: 'number' }),
    defineField({ name: 'written', title: 'Auth0 writes', type: 'number' }),
    defineField({ name: 'remaining', title: 'Left for the next run', type: 'number' }),
    defineField({ name: 'stopped', title: 'Stopped by', type: 'string' }),
  ],
})

export const fanOutStatusTypes = [
  invalidPolicy,
  failure,
  run,
  defineType({
    name: FANOUT_STATUS_TYPE,
    title: 'Auth0 fan-out status',
    type: 'document',
    readOnly: true,
    ...({ __experimental_actions: [] } as object),
    fields: [
      defineField({ name: 'subjectType', title: 'Of a', type: 'string', options: { list: ['role', 'plan'] } }),
      defineField({ name: 'subjectId', title: 'Role or plan ID', type: 'string' }),
      defineField({ name: 'subjectTitle', title: 'Title', type: 'string' }),
      defineField({ name: 'phase', title: 'Phase', type: 'string', options: { list: ['running', 'pending', 'done'] } }),
      defineField({
        name: 'pending',
        title: 'Organizations still to re-sync',
        type: 'array',
        of: [defineArrayMember({ type: 'string' })],
      }),
      defineField({ name: 'pendingCount', title: 'Left', type: 'number' }),
      defineField({ name: 'targeted', title: 'Organizations in this fan-out', type: 'number' }),
      defineField({ name: 'written', title: 'Auth0 writes', type: 'number' }),
      defineField({ name: 'failedCount', title: 'Failed', type: 'number' }),
      defineField({ name: 'invalidCount', title: 'Invalid policies', type: 'number' }),
      defineField({ name: 'invocations', title: 'Invocations', type: 'number' }),
      defineField({ name: 'startedAt', title: 'Started', type: 'datetime' }),
      defineField({ name: 'finishedAt', title: 'Finished', type: 'datetime' }),
      defineField({ name: 'lastRun', title: 'Last run', type: 'accessFanOutRun' }),
      defineField({
        name: 'invalidPolicies',
        title: 'Invalid policies',
        type: 'array',
        of: [defineArrayMember({ type: invalidPolicy.name })],
      }),
      defineField({
        name: 'failures',
        title: 'Failures',
        type: 'array',
        of: [defineArrayMember({ type: failure.name })],
      }),
      defineField({ name: 'generation', title: 'Generation (new work merged in)', type: 'number', hidden: true }),
      defineField({ name: 'round', title: 'Round (each run that left work)', type: 'number', hidden: true }),
      defineField({ name: 'leaseOwner', title: 'Held by invocation', type: 'string', hidden: true }),
      defineField({ name: 'leaseUntil', title: 'Held until (epoch ms)', type: 'number', hidden: true }),
    ],
    preview: {
      select: { title: 'subjectTitle', subjectType: 'subjectType', phase: 'phase', left: 'pendingCount' },
      prepare: ({ title, subjectType, phase, left }) => ({
        title: `${subjectType ?? 'fan-out'}: ${title ?? '?'}`,
        subtitle: `${phase ?? '?'}${left ? ` · ${left} left` : ''}`,
      }),
    },
  }),
]
