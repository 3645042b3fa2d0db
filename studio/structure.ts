import type { DefaultDocumentNodeResolver, StructureResolver } from 'sanity/structure'
import { POLICY_STATUSES } from '../src/core/authoring.ts'
import { FANOUT_STATUS_TYPE } from '../src/core/fanout.ts'
import { DEFAULT_PLAN, PLAN_TYPE } from '../src/core/plans.ts'
import { RECONCILE_STATUS_ID, RECONCILE_STATUS_TYPE } from '../src/reconcile-status.ts'
import { STATUS_TYPE } from '../src/status.ts'
import { FanOutPane } from './fan-out/FanOutPane.tsx'
import { SyncStatusPane } from './sync-status/SyncStatusPane.tsx'

const POLICY = 'accessPolicy'
const STRUCTURE_API_VERSION = '2025-05-01'
const knownStatuses = JSON.stringify(POLICY_STATUSES.map((status) => status.value))

/** Policies by status (active first), then by plan; plans; roles; the function's sync statuses, read-only. */
export const structure: StructureResolver = (S) =>
  S.list()
    .title('Access')
    .items([
      S.listItem()
        .id('policies')
        .title('Access policies')
        .schemaType(POLICY)
        .child(
          S.list()
            .title('Access policies')
            .items([
              ...POLICY_STATUSES.map((status) =>
                S.listItem()
                  .id(`status-${status.value}`)
                  .title(status.title.split(':')[0] ?? status.value)
                  .child(
                    S.documentList()
                      .title(`${status.value} policies`)
                      .schemaType(POLICY)
                      .apiVersion(STRUCTURE_API_VERSION)
                      .filter('_type == $type && status == $status')
                      .params({ type: POLICY, status: status.value }),
                  ),
              ),
              S.listItem()
                .id('status-other')
                .title('Other or no status')
                .child(
                  S.documentList()
                    .title('Policies with another status')
                    .schemaType(POLICY)
                    .apiVersion(STRUCTURE_API_VERSION)
                    .filter(`_type == $type && !(status in ${knownStatuses})`)
                    .params({ type: POLICY }),
                ),
              S.divider(),
              S.listItem()
                .id('by-plan')
                .title('By plan')
                .child(
                  // The plans are documents: one entry per plan, its policies (no plan means the default plan).
                  S.documentTypeList(PLAN_TYPE)
                    .title('By plan')
                    .apiVersion(STRUCTURE_API_VERSION)
                    .child((planId) =>
                      S.documentList()
                        .title('Policies on this plan')
                        .schemaType(POLICY)
                        .apiVersion(STRUCTURE_API_VERSION)
                        .filter(
                          '_type == $type && coalesce(plan, $defaultPlan) == *[_type == $planType && _id == $planId][0].key.current',
                        )
                        .params({ type: POLICY, planType: PLAN_TYPE, planId, defaultPlan: DEFAULT_PLAN }),
                    ),
                ),
              S.documentTypeListItem(POLICY).title('All policies'),
            ]),
        ),
      S.documentTypeListItem(PLAN_TYPE).title('Plans'),
      S.documentTypeListItem('role').title('Roles'),
      S.divider(),
      S.documentTypeListItem(STATUS_TYPE).title('Auth0 sync status (read-only)'),
      S.documentTypeListItem(FANOUT_STATUS_TYPE).title('Auth0 fan-out status (read-only)'),
      S.listItem()
        .id('scheduled-repair')
        .title('Auth0 scheduled repair (read-only)')
        .schemaType(RECONCILE_STATUS_TYPE)
        .child(S.document().schemaType(RECONCILE_STATUS_TYPE).documentId(RECONCILE_STATUS_ID)),
    ])

/**
 * Every policy gets a second tab next to the form: what the last sync did and what Auth0 holds. Every role and plan
 * one too: the policies and organizations it feeds, and its fan-out status.
 */
export const defaultDocumentNode: DefaultDocumentNodeResolver = (S, { schemaType }) => {
  if (schemaType === POLICY) {
    return S.document().views([S.view.form(), S.view.component(SyncStatusPane).id('auth0-sync').title('Auth0 sync')])
  }
  if (schemaType === 'role' || schemaType === PLAN_TYPE) {
    return S.document().views([S.view.form(), S.view.component(FanOutPane).id('auth0-fan-out').title('Auth0 fan-out')])
  }
  return S.document()
}
