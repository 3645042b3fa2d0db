import { pageAccess } from '../lib/access.ts'

// Per-user: never prerendered, never cached (see lib/access.ts).
export const dynamic = 'force-dynamic'

const ORGANIZATIONS = (process.env.NEXT_PUBLIC_SIGN_IN_ORGANIZATIONS ?? '')
  .split(',')
  .map((pair) => pair.split('='))
  .filter((pair): pair is [string, string] => pair.length === 2)

export default async function Home({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const access = await pageAccess()
  if (!access) {
    const { login_error: loginError } = await searchParams
    return (
      <main>
        <h1>Reference app</h1>
        {loginError ? (
          <p role="alert" data-testid="login-error">
            Sign-in refused: {loginError}
          </p>
        ) : null}
        <p>Sign in with your Organization to read the content your access policy allows.</p>
        <ul>
          {ORGANIZATIONS.map(([id, label]) => (
            <li key={id}>
              <a href={`/auth/login?organization=${encodeURIComponent(id)}`} data-testid={`sign-in-${id}`}>
                Sign in to {label}
              </a>
            </li>
          ))}
          <li>
            <a href="/auth/login" data-testid="sign-in">
              Sign in (choose your Organization)
            </a>
          </li>
        </ul>
      </main>
    )
  }
  const { user, token, decision, content } = access
  const organizationId = token.allow ? token.organizationId : undefined
  return (
    <main>
      <h1>Reference app</h1>
      <p data-testid="user">
        Signed in as {user.email ?? user.sub}
        {organizationId ? ` in ${user.orgName ?? organizationId}` : ''}
      </p>
      <dl>
        <dt>Organization</dt>
        <dd data-testid="organization">{organizationId ?? '(none)'}</dd>
        <dt>Plan</dt>
        <dd data-testid="plan">{token.allow ? token.claims.plan : '—'}</dd>
        <dt>Role</dt>
        <dd data-testid="role">{token.allow ? token.claims.role : '—'}</dd>
        <dt>The token allows</dt>
        <dd data-testid="token-allows">
          {token.allow
            ? `tags ${token.claims.contentTags.join(', ') || '(none)'}; entitlements ${token.claims.entitlements.join(', ') || '(none)'}`
            : `nothing (${token.reason}: ${token.message})`}
        </dd>
        <dt>Served now (token ∩ live policy)</dt>
        <dd data-testid="decision">
          {decision.allow
            ? `tags ${decision.claims.contentTags.join(', ') || '(none)'}`
            : `no gated content (${decision.reason}: ${decision.message})`}
        </dd>
      </dl>
      <h2>Gated content</h2>
      <ul data-testid="content">
        {content.content.map((doc) => (
          <li key={doc._id} data-id={doc._id}>
            {doc.title}
          </li>
        ))}
      </ul>
      <h2>Onboarding</h2>
      <ul data-testid="onboarding">
        {content.onboarding.map((doc) => (
          <li key={doc._id} data-id={doc._id}>
            {doc.title}
          </li>
        ))}
      </ul>
      <p>
        <a href="/refresh" data-testid="refresh">
          Refresh access
        </a>{' '}
        ·{' '}
        <a href="/auth/logout" data-testid="sign-out">
          Sign out
        </a>
      </p>
    </main>
  )
}
