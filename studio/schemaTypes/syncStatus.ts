import { defineArrayMember, defineField, defineType } from 'sanity'
import { ORGANIZATION_OUTCOMES, STATUS_TYPE, SYNC_OUTCOMES } from '../../src/status.ts'

/**
 * Written by the function after every attempt (see src/status.ts), read by the badge and the "Auth0 sync" view.
 * Never edited in the Studio: the type is read-only and has no document actions (sanity.config.ts).
 */
const outcomeField = (list: readonly string[]) =>
  defineField({ name: 'outcome', title: 'Outcome', type: 'string', options: { list: [...list] } })

const organization = defineType({
  name: 'accessPolicySyncOrganization',
  title: 'Organization',
  type: 'object',
  fields: [
    defineField({ name: 'organizationId', title: 'Auth0 Organization ID', type: 'string' }),
    outcomeField(ORGANIZATION_OUTCOMES),
    defineField({ name: 'reason', title: 'Reason', type: 'string' }),
    defineField({ name: 'message', title: 'Message', type: 'text' }),
    defineField({ name: 'ownerPolicyId', title: 'Policy that owns the organization', type: 'string' }),
    defineField({
      name: 'conflicts',
      title: 'Other active policies naming it',
      type: 'array',
      of: [{ type: 'string' }],
    }),
    defineField({
      name: 'metadata',
      title: 'Metadata Auth0 holds after the attempt',
      type: 'array',
      of: [
        defineArrayMember({
          name: 'accessPolicySyncMetadataEntry',
          type: 'object',
          fields: [
            defineField({ name: 'key', title: 'Key', type: 'string' }),
            defineField({ name: 'value', title: 'Value', type: 'string' }),
          ],
        }),
      ],
    }),
  ],
  preview: { select: { title: 'organizationId', subtitle: 'outcome' } },
})

const attemptFields = [
  outcomeField(SYNC_OUTCOMES),
  defineField({ name: 'reason', title: 'Reason', type: 'string' }),
  defineField({ name: 'message', title: 'Message', type: 'text' }),
  defineField({ name: 'attemptedAt', title: 'Attempted at', type: 'datetime' }),
  defineField({ name: 'policyRevision', title: 'Policy revision', type: 'string' }),
  defineField({ name: 'operation', title: 'Operation', type: 'string' }),
  defineField({
    name: 'organizations',
    title: 'Organizations',
    type: 'array',
    of: [defineArrayMember({ type: 'accessPolicySyncOrganization' })],
  }),
]

const attempt = defineType({
  name: 'accessPolicySyncAttempt',
  title: 'Attempt',
  type: 'object',
  fields: attemptFields,
  preview: { select: { title: 'outcome', subtitle: 'attemptedAt' } },
})

export const syncStatusTypes = [
  organization,
  attempt,
  defineType({
    name: STATUS_TYPE,
    title: 'Auth0 sync status',
    type: 'document',
    readOnly: true,
    fields: [
      defineField({ name: 'policy', title: 'Policy', type: 'reference', to: [{ type: 'accessPolicy' }], weak: true }),
      defineField({ name: 'policyId', title: 'Policy ID', type: 'string' }),
      ...attemptFields,
      defineField({ name: 'notes', title: 'Notes', type: 'array', of: [{ type: 'string' }] }),
      defineField({
        name: 'history',
        title: 'Recent attempts (newest first)',
        type: 'array',
        of: [defineArrayMember({ type: 'accessPolicySyncAttempt' })],
      }),
    ],
    preview: {
      select: { title: 'policy.title', policyId: 'policyId', outcome: 'outcome', attemptedAt: 'attemptedAt' },
      prepare: ({ title, policyId, outcome, attemptedAt }) => ({
        title: title || policyId || 'Unknown policy',
        subtitle: `${outcome ?? '?'} · ${attemptedAt ?? ''}`,
      }),
    },
  }),
]
