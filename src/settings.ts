/**
 * Every setting this product reads, in one place: whether it is a secret, its default and range, which entry
 * points and which functions read it, and what it means. `access-sync deploy` sets each function's environment from
 * it (only what that function reads), `doctor` checks against it, and `.env.example` is generated from it
 * (scripts/env-example.ts; a test keeps the two in step). The readers themselves live in src/config.ts and the
 * entry points; a test checks that every name they read is listed here.
 */

/** Commands and programs (not functions) that read settings. */
export type EntryPoint =
  | 'blueprint'
  | 'deploy'
  | 'reconcile'
  | 'deploy-action'
  | 'doctor'
  | 'example-app'
  | 'reference-app'
  | 'studio'

/** The functions of functions/<name>; which of them an environment deploys comes from the blueprint. */
export type FunctionName = 'sync-access-policy' | 'fan-out-role' | 'fan-out-plan' | 'reconcile-access'

export type SettingGroup = 'environment' | 'auth0' | 'functions' | 'guard' | 'repair' | 'action' | 'app' | 'local'

export interface Setting {
  readonly name: string
  readonly group: SettingGroup
  /** Never printed, never committed, never in the blueprint. */
  readonly secret: boolean
  /** Required by every reader listed (an entry point that needs it only sometimes says so in `meaning`). */
  readonly required: boolean
  readonly default?: string
  /** The accepted values, as the reader checks them. */
  readonly range?: string
  readonly entryPoints: readonly EntryPoint[]
  readonly functions: readonly FunctionName[]
  /**
   * How a deployed function gets it: `env add` (`access-sync deploy` runs `sanity functions env add`) or
   * `blueprint` (the blueprint's resource `env`, non-secret scope the runtime applies).
   */
  readonly via?: 'env add' | 'blueprint'
  readonly meaning: string
  /** A placeholder for `.env.example`. */
  readonly example?: string
  /**
   * `false`: not a setting of an environment file (the shell, the Studio's own `.env` or `npm run dev` sets it), so
   * it is left out of `.env.example`; it is still in the configuration reference.
   */
  readonly envFile?: false
}

const ALL_FUNCTIONS: readonly FunctionName[] = [
  'sync-access-policy',
  'fan-out-role',
  'fan-out-plan',
  'reconcile-access',
]
const EVENT_FUNCTIONS: readonly FunctionName[] = ['sync-access-policy', 'fan-out-role', 'fan-out-plan']
const FAN_OUTS: readonly FunctionName[] = ['fan-out-role', 'fan-out-plan']
const REPAIR: readonly FunctionName[] = ['reconcile-access']

export const SETTINGS: readonly Setting[] = [
  {
    name: 'SANITY_PROJECT_ID',
    group: 'environment',
    secret: false,
    required: true,
    range: 'a project ID: lowercase letters, digits, dashes',
    entryPoints: ['blueprint', 'deploy', 'reconcile', 'doctor', 'example-app'],
    functions: ALL_FUNCTIONS,
    via: 'blueprint',
    meaning: 'the Sanity project; every function is scoped to it and refuses events from any other',
    example: 'abc123xy',
  },
  {
    name: 'SANITY_DATASET',
    group: 'environment',
    secret: false,
    required: true,
    range: 'a dataset name: lowercase letters, digits, _ and -',
    entryPoints: ['blueprint', 'deploy', 'reconcile', 'doctor', 'example-app'],
    functions: ALL_FUNCTIONS,
    via: 'blueprint',
    meaning: 'the one dataset this environment syncs; document functions fire only for it (event.resource)',
    example: 'production',
  },
  {
    name: 'SANITY_API_TOKEN',
    group: 'environment',
    secret: true,
    required: false,
    entryPoints: ['reconcile', 'doctor', 'example-app'],
    functions: [],
    meaning:
      'a token whose role reads accessPolicy, role and plan (required by reconcile and doctor; --apply also writes sync status); deployed functions get their own from the runtime',
    example: 'sk…',
  },
  {
    name: 'SANITY_API_HOST',
    group: 'environment',
    secret: false,
    required: false,
    range: 'a full URL, used as-is',
    entryPoints: ['reconcile', 'doctor'],
    functions: [],
    meaning: 'another Content Lake host, e.g. the local emulator; unset for Sanity',
  },
  {
    name: 'SANITY_STACK',
    group: 'environment',
    secret: false,
    required: false,
    default: 'the environment name',
    entryPoints: ['deploy', 'doctor'],
    functions: [],
    meaning: 'the Blueprints stack this environment deploys to (`--stack`)',
  },
  {
    name: 'ACCESS_SYNC_SCHEDULE',
    group: 'environment',
    secret: false,
    required: false,
    default: 'off',
    range: '`hourly`, a cron expression or words `defineScheduledFunction` accepts, or `off`',
    entryPoints: ['blueprint', 'deploy', 'doctor'],
    functions: [],
    meaning: 'declares the scheduled repair (reconcile-access); needs an organization-scoped stack',
  },
  {
    name: 'NODE_EXTRA_CA_CERTS',
    group: 'environment',
    secret: false,
    required: false,
    range: 'a path to a PEM file',
    entryPoints: ['deploy', 'reconcile', 'deploy-action', 'doctor'],
    functions: [],
    meaning:
      "a certificate for Node to trust: the local emulators' (`npm run dev` sets it); `access-sync` restarts itself with it",
  },
  {
    name: 'AUTH0_DOMAIN',
    group: 'auth0',
    secret: false,
    required: true,
    range: 'a bare host name, no https://',
    entryPoints: ['reconcile', 'deploy-action', 'doctor', 'example-app'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning: "the tenant's canonical domain (<tenant>.<region>.auth0.com), not a custom domain",
    example: 'your-tenant.eu.auth0.com',
  },
  {
    name: 'AUTH0_CLIENT_ID',
    group: 'auth0',
    secret: false,
    required: true,
    entryPoints: ['reconcile', 'doctor'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning: 'the sync Machine-to-Machine application (scopes read:organizations update:organizations)',
    example: 'your-client-id',
  },
  {
    name: 'AUTH0_CLIENT_ASSERTION_SIGNING_KEY',
    group: 'auth0',
    secret: true,
    required: false,
    range:
      'a PEM private key (RSA, 2048 bits or more; in a .env file multi-line in double quotes, or one line with \\n escapes), its base64 (`base64 -w0 key.pem`), or a file path',
    entryPoints: ['deploy', 'reconcile', 'doctor'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning:
      "Private Key JWT (recommended): the private key whose public key is that application's credential in Auth0; set this or AUTH0_CLIENT_SECRET, not both. `access-sync deploy` sends the functions its base64 (a file path is read first)",
    example: './auth0-sync-key.pem',
  },
  {
    name: 'AUTH0_CLIENT_ASSERTION_SIGNING_ALG',
    group: 'auth0',
    secret: false,
    required: false,
    default: 'RS256',
    range: '`RS256`, `RS384` or `PS256`, as the credential in Auth0',
    entryPoints: ['reconcile', 'doctor'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning: 'the algorithm the client assertion is signed with (only with AUTH0_CLIENT_ASSERTION_SIGNING_KEY)',
  },
  {
    name: 'AUTH0_CLIENT_SECRET',
    group: 'auth0',
    secret: true,
    required: false,
    entryPoints: ['reconcile', 'doctor'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning:
      "that application's client secret, if it authenticates with one; set this or AUTH0_CLIENT_ASSERTION_SIGNING_KEY, not both",
    example: 'your-client-secret',
  },
  {
    name: 'AUTH0_TIMEOUT_SECONDS',
    group: 'auth0',
    secret: false,
    required: false,
    default: '10',
    range: '1–60',
    entryPoints: ['reconcile'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning: 'timeout of one Auth0 request',
  },
  {
    name: 'SYNC_TIME_BUDGET_SECONDS',
    group: 'functions',
    secret: false,
    required: false,
    default: '90',
    range: '5–800',
    entryPoints: [],
    functions: EVENT_FUNCTIONS,
    via: 'env add',
    meaning: "all the time one invocation may spend on Auth0; keep it under the function's timeout (120 s)",
  },
  {
    name: 'FANOUT_MAX_WRITES',
    group: 'functions',
    secret: false,
    required: false,
    range: '1–100000',
    entryPoints: [],
    functions: FAN_OUTS,
    via: 'env add',
    meaning: 'at most this many Auth0 writes per fan-out invocation; unset, the time budget decides',
  },
  {
    name: 'FANOUT_TIME_BUDGET_SECONDS',
    group: 'functions',
    secret: false,
    required: false,
    default: '840',
    range: 'seconds, above 0 and at most 840',
    entryPoints: [],
    functions: FAN_OUTS,
    via: 'env add',
    meaning:
      "how long one fan-out hop may spend on Auth0 (the fan-outs run up to the platform's 900 s, so 16 hops hold about 5 500 writes at 25 a minute)",
  },
  {
    name: 'SYNC_REPAIR_STEP_LIMIT',
    group: 'functions',
    secret: false,
    required: false,
    default: '3',
    range: '0–50; 0 turns the step off',
    entryPoints: [],
    functions: ['sync-access-policy'],
    via: 'env add',
    meaning:
      'after its own event, a sync invocation repairs up to this many policies whose status is missing, behind or a retryable failure (events the platform dropped, killed or failed), so the default deploy converges without the scheduled repair; one Content Lake query per event when nothing is behind',
  },
  {
    name: 'REVOKE_GUARD_MAX_PERCENT',
    group: 'guard',
    secret: false,
    required: false,
    default: '20',
    range: '0–100',
    entryPoints: ['reconcile'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning:
      'refuse all of a run’s revokes when they are more than this share of the Organizations carrying our marker (and more than REVOKE_GUARD_MIN_COUNT)',
  },
  {
    name: 'REVOKE_GUARD_MIN_COUNT',
    group: 'guard',
    secret: false,
    required: false,
    default: '5',
    range: '0–1000000',
    entryPoints: ['reconcile'],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning:
      'revokes a run may always make, whatever the share (small tenants, narrow runs); a read that saw no published policy is refused regardless',
  },
  {
    name: 'ALLOW_MASS_REVOKE',
    group: 'guard',
    secret: false,
    required: false,
    default: 'false',
    range: '`true` or `false`',
    entryPoints: [],
    functions: ALL_FUNCTIONS,
    via: 'env add',
    meaning: 'let a refused mass revoke through, for the rare real case; the reconcile CLI takes --allow-mass-revoke',
  },
  {
    name: 'RECONCILE_TIME_BUDGET_SECONDS',
    group: 'repair',
    secret: false,
    required: false,
    default: '240',
    range: '10–840',
    entryPoints: [],
    functions: REPAIR,
    via: 'env add',
    meaning: "how long one scheduled run may write; keep it under the function's timeout (300 s)",
  },
  {
    name: 'RECONCILE_MAX_WRITES',
    group: 'repair',
    secret: false,
    required: false,
    range: '1–1000000',
    entryPoints: [],
    functions: REPAIR,
    via: 'env add',
    meaning: 'at most this many writes per scheduled run; unset, the time budget and rate limits decide',
  },
  {
    name: 'AUTH0_DEPLOY_CLIENT_ID',
    group: 'action',
    secret: false,
    required: true,
    entryPoints: ['deploy-action', 'doctor'],
    functions: [],
    meaning: 'a separate Machine-to-Machine application (read:actions create:actions update:actions)',
    example: 'your-deploy-client-id',
  },
  {
    name: 'AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY',
    group: 'action',
    secret: true,
    required: false,
    range: 'as AUTH0_CLIENT_ASSERTION_SIGNING_KEY: a PEM private key, its base64, or a file path',
    entryPoints: ['deploy-action', 'doctor'],
    functions: [],
    meaning:
      'Private Key JWT (recommended) for the deploy client: its private key; set this or AUTH0_DEPLOY_CLIENT_SECRET, not both',
    example: './auth0-deploy-key.pem',
  },
  {
    name: 'AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_ALG',
    group: 'action',
    secret: false,
    required: false,
    default: 'RS256',
    range: '`RS256`, `RS384` or `PS256`',
    entryPoints: ['deploy-action', 'doctor'],
    functions: [],
    meaning: "the deploy client's assertion algorithm (only with AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY)",
  },
  {
    name: 'AUTH0_DEPLOY_CLIENT_SECRET',
    group: 'action',
    secret: true,
    required: false,
    entryPoints: ['deploy-action', 'doctor'],
    functions: [],
    meaning:
      "that application's client secret, if it authenticates with one; set this or AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY, not both",
    example: 'your-deploy-client-secret',
  },
  {
    name: 'CLAIM_NAMESPACE',
    group: 'action',
    secret: false,
    required: false,
    default: "the Action's own",
    range: 'an http:// or https:// URL',
    entryPoints: ['deploy-action', 'doctor', 'example-app'],
    functions: [],
    meaning: "the custom claims' namespace; the Action and the apps must agree",
  },
  {
    name: 'DEPLOY_ACTION_POLL_MS',
    group: 'action',
    secret: false,
    required: false,
    default: '2000',
    range: '10 or more',
    entryPoints: ['deploy-action'],
    functions: [],
    meaning: "how often deploy-action asks whether Auth0 built the Action's draft",
  },
  {
    name: 'AUTH0_AUDIENCE',
    group: 'app',
    secret: false,
    required: true,
    entryPoints: ['example-app'],
    functions: [],
    meaning: "the API identifier the app's access tokens are issued for",
    example: 'https://api.example.com',
  },
  {
    name: 'APP_BASE_URL',
    group: 'app',
    secret: false,
    required: false,
    default: 'http://localhost:3000',
    range: 'a full URL',
    entryPoints: ['reference-app'],
    functions: [],
    meaning: 'where the Next.js reference app is served (its Auth0 callback and logout URLs are built from it)',
  },
  {
    name: 'AUTH0_EMULATOR',
    group: 'app',
    secret: false,
    required: false,
    default: 'false',
    range: '`true` or unset',
    entryPoints: ['reference-app'],
    functions: [],
    meaning:
      'the reference app talks to the local Auth0 emulator (`npm run dev:app` sets it): allows its https://localhost:PORT domain; never set it for a real tenant',
  },
  {
    name: 'NEXT_DIST_DIR',
    group: 'app',
    secret: false,
    required: false,
    default: 'node_modules/.cache/examples-nextjs',
    entryPoints: ['reference-app'],
    functions: [],
    meaning: "where Next.js writes the reference app's build output (kept out of the source folder)",
  },
  {
    name: 'PORT',
    group: 'app',
    secret: false,
    required: false,
    default: '3000',
    entryPoints: ['example-app'],
    functions: [],
    meaning: 'the port the example app listens on',
  },
  {
    name: 'NEXT_PUBLIC_SIGN_IN_ORGANIZATIONS',
    group: 'app',
    secret: false,
    required: false,
    range: '`org_…=Name` pairs, comma-separated',
    entryPoints: ['reference-app'],
    functions: [],
    meaning: "the Organizations the reference app's sign-in page offers; `npm run dev:app` sets the fixtures' two",
  },
  {
    name: 'ACCESS_SYNC_ENV',
    group: 'local',
    secret: false,
    required: false,
    range: 'an environment name, or a path with a `/`',
    entryPoints: ['blueprint', 'deploy', 'reconcile', 'deploy-action', 'doctor'],
    functions: [],
    meaning:
      'which `.env.<name>` to read when there is no `--env`; the blueprint refuses to build without an environment',
    envFile: false,
  },
  {
    name: 'SANITY_STUDIO_PROJECT_ID',
    group: 'local',
    secret: false,
    required: false,
    default: 'local-studio',
    range: 'a project ID',
    entryPoints: ['studio'],
    functions: [],
    meaning: 'the project the Studio and its CLI use; the default only makes local builds and typegen work',
    envFile: false,
  },
  {
    name: 'SANITY_STUDIO_DATASET',
    group: 'local',
    secret: false,
    required: false,
    default: 'production',
    range: 'a dataset name',
    entryPoints: ['studio'],
    functions: [],
    meaning: "the Studio's dataset",
    envFile: false,
  },
  {
    name: 'SANITY_STUDIO_API_HOST',
    group: 'local',
    secret: false,
    required: false,
    range: 'a loopback URL',
    entryPoints: ['studio'],
    functions: [],
    meaning: "set by `npm run dev` only: the local emulator's API host; unset, the Studio talks to Sanity",
    envFile: false,
  },
  {
    name: 'SANITY_STUDIO_DATASETS',
    group: 'local',
    secret: false,
    required: false,
    range: 'distinct dataset names, comma-separated',
    entryPoints: ['studio'],
    functions: [],
    meaning: 'set by `npm run dev` only, with SANITY_STUDIO_API_HOST: one workspace per dataset (`production,staging`)',
    envFile: false,
  },
  {
    name: 'SANITY_TYPEGEN',
    group: 'local',
    secret: false,
    required: false,
    default: 'on',
    range: '`off`',
    entryPoints: ['studio'],
    functions: [],
    meaning: "`off` skips the typegen `sanity dev` runs while you edit (the Studio's CLI config, studio/sanity.cli.ts)",
    envFile: false,
  },
  {
    name: 'SANITY_TYPEGEN_OUT_DIR',
    group: 'local',
    secret: false,
    required: false,
    default: 'the repository',
    range: 'a folder',
    entryPoints: ['studio'],
    functions: [],
    meaning: 'where that typegen writes `schema.json` and `sanity.types.ts`',
    envFile: false,
  },
]

/** Headings of `.env.example`, in order: grouped by who reads the settings. */
export const GROUPS: Readonly<Record<SettingGroup, string>> = {
  environment: 'The environment: one Sanity project and dataset (blueprint, deploy, reconcile, doctor)',
  auth0: 'The sync client in Auth0 (every function, reconcile, doctor)',
  functions: 'Event functions (sync-access-policy, fan-out-role, fan-out-plan)',
  guard: 'Mass-revoke guard (every function and reconcile; the reconcile CLI takes --allow-mass-revoke instead)',
  repair: 'Scheduled repair (reconcile-access, only with ACCESS_SYNC_SCHEDULE)',
  action: 'Post-login Action (access-sync deploy-action, doctor)',
  app: 'Example apps (examples/app/server.ts; the Next.js reference app, examples/nextjs, also reads .env.local)',
  local: 'The Studio and the shell (not in an environment file)',
}

export function setting(name: string): Setting | undefined {
  return SETTINGS.find((entry) => entry.name === name)
}

/** The settings `sanity functions env add` gives `fn`, in catalog order. */
export function functionEnvSettings(fn: string): Setting[] {
  return SETTINGS.filter((entry) => entry.via === 'env add' && (entry.functions as readonly string[]).includes(fn))
}

/** Keys this product sets with `functions env add` on some function: the only ones `deploy` ever removes. */
export const PRODUCT_ENV_KEYS: ReadonlySet<string> = new Set(
  SETTINGS.filter((entry) => entry.via === 'env add').map((entry) => entry.name),
)

/** The values of the secret settings in `env`, to mask wherever text is printed. */
export function secretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  return SETTINGS.flatMap((entry) => {
    const value = entry.secret ? env[entry.name]?.trim() : undefined
    return value ? [value] : []
  })
}
