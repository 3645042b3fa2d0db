/**
 * The Studio talks to the local emulator only when `npm run dev` says so (SANITY_STUDIO_API_HOST), and only to a
 * loopback address; without it the production config has no apiHost at all.
 */
import { describe, expect, it } from 'vitest'
import { devApiHost } from '../../studio/env.ts'

describe('dev apiHost', () => {
  it('is unset unless SANITY_STUDIO_API_HOST is set', () => {
    expect(devApiHost(undefined)).toBeUndefined()
    expect(devApiHost('')).toBeUndefined()
  })

  it('accepts a loopback emulator, over HTTP or HTTPS', () => {
    expect(devApiHost('https://localhost:3335')).toBe('https://localhost:3335')
    expect(devApiHost('http://127.0.0.1:3334/')).toBe('http://127.0.0.1:3334')
  })

  it('refuses anything else, naming the variable', () => {
    for (const value of ['https://api.sanity.io', 'http://localhost.evil.example:1', 'file:///etc', 'localhost:3335']) {
      expect(() => devApiHost(value)).toThrow(/SANITY_STUDIO_API_HOST must be a local emulator/)
    }
  })
})
