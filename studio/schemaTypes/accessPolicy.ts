import { defineArrayMember, defineField, defineType } from 'sanity'
import { POLICY_STATUSES } from '../../src/core/authoring.ts'
import { DEFAULT_PLAN } from '../../src/core/metadata.ts'
import { ACTIVE_STATUS } from '../../src/core/policy.ts'
import { ContentTagsInput } from '../components/ContentTagsInput.tsx'
import { PlanInput } from '../components/PlanInput.tsx'
import { fieldRule, organizationRule, planRule } from '../validation.ts'

/** The contract of docs/rules.md ("Data model"): field names are what the function reads. */
export const accessPolicy = defineType({
  name: 'accessPolicy',
  title: 'Access policy',
  type: 'document',
  fields: [
    defineField({
      name: 'title',
      title: 'Title',
      type: 'string',
      description: 'For editors only; never leaves Sanity.',
      validation: (rule) => rule.required(),
    }),
    defineField({
      name: 'auth0OrganizationId',
      title: 'Auth0 Organization ID',
      type: 'string',
      description: 'org_ followed by letters and digits: copy it from Auth0 Dashboard > Organizations.',
      validation: (rule) => rule.custom(organizationRule),
    }),
    defineField({
      name: 'status',
      title: 'Status',
      type: 'string',
      description: `Only "${ACTIVE_STATUS}" grants access. Any other status removes it from Auth0 on publish.`,
      initialValue: ACTIVE_STATUS,
      options: { list: POLICY_STATUSES.map(({ value, title }) => ({ value, title })), layout: 'radio' },
      validation: (rule) => rule.custom(fieldRule('status')),
    }),
    defineField({
      name: 'plan',
      title: 'Plan',
      type: 'string',
      description: 'The key of a published plan document; Auth0 gets the key and the plan’s entitlements.',
      initialValue: DEFAULT_PLAN,
      components: { input: PlanInput },
      validation: (rule) => rule.custom(planRule),
    }),
    defineField({
      name: 'role',
      title: 'Role',
      type: 'reference',
      to: [{ type: 'role' }],
      description: 'Auth0 receives the role’s slug.',
      validation: (rule) => rule.custom(fieldRule('role')),
    }),
    defineField({
      name: 'allowedContentTags',
      title: 'Allowed content tags',
      type: 'array',
      of: [defineArrayMember({ type: 'string' })],
      options: { layout: 'tags' },
      description: 'Distinct tags. Auth0 stores them as one JSON text of at most 255 characters.',
      components: { input: ContentTagsInput },
      validation: (rule) => rule.custom(fieldRule('allowedContentTags')),
    }),
    defineField({
      name: 'internalNotes',
      title: 'Internal notes',
      type: 'text',
      description: 'For editors only; never leaves Sanity.',
    }),
  ],
  preview: {
    select: { title: 'title', organization: 'auth0OrganizationId', status: 'status', plan: 'plan' },
    prepare: ({ title, organization, status, plan }) => ({
      title: title || 'Untitled policy',
      subtitle: [organization || 'no organization', plan, status].filter(Boolean).join(' · '),
    }),
  },
})
