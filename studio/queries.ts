import { defineQuery } from 'groq'

/**
 * Other published, active policies naming an organization, oldest first (the order in which the function picks
 * the owner). Drafts and release versions are excluded in the query itself, so the result does not depend on the
 * perspective the client happens to use.
 */
export const CONFLICTING_POLICIES_QUERY = defineQuery(`*[
  _type == "accessPolicy" && status == "active" && auth0OrganizationId == $organizationId
  && _id != $publishedId && !(_id in path("drafts.**")) && !(_id in path("versions.**"))
] | order(_createdAt asc, _id asc) { _id, title }`)

/** The published plans an editor can pick for a policy, by key. Drafts of plans grant nothing. */
export const PUBLISHED_PLANS_QUERY = defineQuery(`*[
  _type == "plan" && defined(key.current) && !(_id in path("drafts.**")) && !(_id in path("versions.**"))
] | order(key.current asc) { "key": key.current, title }`)

/**
 * What a role feeds: published policies referencing it (all, and active), and the distinct Organizations the active
 * ones name. The fan-out re-syncs exactly those Organizations.
 */
export const ROLE_USAGE_QUERY = defineQuery(`{
  "policies": count(*[_type == "accessPolicy" && role._ref == $id && !(_id in path("drafts.**")) && !(_id in path("versions.**"))]),
  "active": count(*[_type == "accessPolicy" && status == "active" && role._ref == $id && !(_id in path("drafts.**")) && !(_id in path("versions.**"))]),
  "organizations": count(array::unique(*[_type == "accessPolicy" && status == "active" && role._ref == $id && defined(auth0OrganizationId) && !(_id in path("drafts.**")) && !(_id in path("versions.**"))].auth0OrganizationId))
}`)

/** What a plan feeds, by its published key (a policy with no plan is on the default plan, "free"). */
export const PLAN_USAGE_QUERY = defineQuery(`{
  "policies": count(*[_type == "accessPolicy" && coalesce(plan, "free") == $key && !(_id in path("drafts.**")) && !(_id in path("versions.**"))]),
  "active": count(*[_type == "accessPolicy" && status == "active" && coalesce(plan, "free") == $key && !(_id in path("drafts.**")) && !(_id in path("versions.**"))]),
  "organizations": count(array::unique(*[_type == "accessPolicy" && status == "active" && coalesce(plan, "free") == $key && defined(auth0OrganizationId) && !(_id in path("drafts.**")) && !(_id in path("versions.**"))].auth0OrganizationId))
}`)

/** A published plan's key and how many published policies use it: a key change would orphan them. */
export const PLAN_KEY_IN_USE_QUERY = defineQuery(`*[_type == "plan" && _id == $id][0]{
  "key": key.current,
  "policies": count(*[_type == "accessPolicy" && coalesce(plan, "free") == ^.key.current && !(_id in path("drafts.**")) && !(_id in path("versions.**"))])
}`)
