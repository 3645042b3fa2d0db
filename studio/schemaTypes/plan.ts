import { defineArrayMember, defineField, defineType } from 'sanity'
import { entitlementsRule, planKeyRule } from '../validation.ts'

/**
 * A plan (docs/rules.md, "Data model"). A policy's `plan` is a plan's `key.current`; Auth0 gets the key as `plan` and the
 * entitlements as `entitlements`. Editing the key or the entitlements re-syncs every organization on the plan
 * (functions/fan-out-plan); the title and description never leave Sanity.
 */
export const plan = defineType({
  name: 'plan',
  title: 'Plan',
  type: 'document',
  fields: [
    defineField({ name: 'title', title: 'Title', type: 'string', validation: (rule) => rule.required() }),
    defineField({
      name: 'key',
      title: 'Key',
      type: 'slug',
      description:
        'What Auth0 and the apps receive as the plan, e.g. "pro"; policies name their plan by this key. Unique among plans.',
      options: { source: 'title', maxLength: 64 },
      validation: (rule) => rule.required().custom(planKeyRule),
    }),
    defineField({
      name: 'entitlements',
      title: 'Entitlements',
      type: 'array',
      of: [defineArrayMember({ type: 'string' })],
      options: { layout: 'tags' },
      description:
        'Short keys such as "sso" or "audit-log". Auth0 stores them as one JSON text of at most 255 characters; every organization on this plan gets them.',
      validation: (rule) => rule.custom(entitlementsRule),
    }),
    defineField({
      name: 'description',
      title: 'Description',
      type: 'text',
      description: 'For editors only; never leaves Sanity.',
    }),
  ],
  preview: {
    select: { title: 'title', key: 'key.current', entitlements: 'entitlements' },
    prepare: ({ title, key, entitlements }) => ({
      title: title || 'Untitled plan',
      subtitle: [key || 'no key', Array.isArray(entitlements) ? entitlements.join(', ') : '']
        .filter(Boolean)
        .join(' · '),
    }),
  },
})
