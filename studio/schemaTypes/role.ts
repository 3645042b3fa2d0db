import { defineField, defineType } from 'sanity'
import { roleSlugRule } from '../validation.ts'

/** A role a policy grants. Auth0 receives `slug.current`, so the slug follows the function's rules for `role`. */
export const role = defineType({
  name: 'role',
  title: 'Role',
  type: 'document',
  fields: [
    defineField({ name: 'title', title: 'Title', type: 'string', validation: (rule) => rule.required() }),
    defineField({
      name: 'slug',
      title: 'Slug',
      type: 'slug',
      description:
        'What Auth0 and the apps receive as the role, e.g. "editor". Changing it changes every policy using it.',
      options: { source: 'title', maxLength: 64 },
      validation: (rule) => rule.required().custom(roleSlugRule),
    }),
  ],
  preview: { select: { title: 'title', subtitle: 'slug.current' } },
})
