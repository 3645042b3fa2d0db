/**
 * The gated content query an app runs with a user's access claims. The query text is a constant: claim values
 * only ever travel as GROQ parameters, so no claim can change what the query means.
 *
 * - content: published documents of `contentType` whose `tags` share at least one tag with `contentTags`;
 * - onboarding: published documents of `onboardingType` meant for the user's role and plan (a document without
 *   `roles` is for every role, without `plans` for every plan).
 */
import type { AccessClaims } from './claims.ts'

export const GATED_CONTENT_QUERY = `{
  "content": *[_type == $contentType && !(_id in path("drafts.**")) && count(tags[@ in $contentTags]) > 0]
    | order(_id asc) [0...100] {_id, title, tags},
  "onboarding": *[_type == $onboardingType && !(_id in path("drafts.**"))
    && (!defined(roles) || $role in roles) && (!defined(plans) || $plan in plans)]
    | order(_id asc) [0...20] {_id, title, roles, plans}
}`

export interface GatedQueryOptions {
  /** Document type of the gated content. Default `article`. */
  readonly contentType?: string
  /** Document type of onboarding documents. Default `onboarding`. */
  readonly onboardingType?: string
}

export interface GatedQueryParams {
  readonly contentType: string
  readonly onboardingType: string
  readonly contentTags: readonly string[]
  readonly role: string
  readonly plan: string
}

export interface GatedContent {
  readonly content: ReadonlyArray<{ _id: string; title?: string; tags?: string[] }>
  readonly onboarding: ReadonlyArray<{ _id: string; title?: string; roles?: string[]; plans?: string[] }>
}

export function gatedContentQuery(
  claims: AccessClaims,
  options: GatedQueryOptions = {},
): { readonly query: string; readonly params: GatedQueryParams } {
  return {
    query: GATED_CONTENT_QUERY,
    params: {
      contentType: options.contentType ?? 'article',
      onboardingType: options.onboardingType ?? 'onboarding',
      contentTags: [...claims.contentTags],
      role: claims.role,
      plan: claims.plan,
    },
  }
}
