/**
 * The Studio shows one workspace per dataset only in `npm run dev` (SANITY_STUDIO_DATASETS with a dev apiHost);
 * every other build, and the deployed Studio, keep their one workspace.
 */
import { describe, expect, it } from 'vitest'
import { devDatasets } from '../../studio/env.ts'

describe('dev datasets (the Studio’s dataset switcher)', () => {
  it('is off unless npm run dev sets both the datasets and the emulator apiHost', () => {
    expect(devDatasets(undefined, 'https://localhost:3335')).toBeUndefined()
    expect(devDatasets('production,staging', undefined)).toBeUndefined()
  })

  it('lists the datasets, in order', () => {
    expect(devDatasets('production, staging', 'https://localhost:3335')).toEqual(['production', 'staging'])
  })

  it('refuses names that are not datasets, or repeated, naming the variable', () => {
    for (const value of ['production,', 'Production', 'a/b', 'staging,staging']) {
      expect(() => devDatasets(value, 'https://localhost:3335')).toThrow(/SANITY_STUDIO_DATASETS must list/)
    }
  })
})
