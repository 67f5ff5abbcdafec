// A real OpenID provider for tests, started by the test on 127.0.0.1 (random port) and stopped
// by it. Three issuers on one server:
//
//  - people: `oidc-provider` (the certified implementation) at `issuer`: authorization code +
//    PKCE (native client, loopback redirect on any port), device authorization grant (RFC 8628),
//    refresh tokens (offline_access), a `groups` claim in the ID token, a real login page and
//    consent page. `harness.browser` drives those pages as a person would (cookies, forms,
//    redirects), so a test signs in without a mock anywhere.
//  - `github`: an issuer shaped like GitHub Actions' (discovery + JWKS under the issuer URL, RS256
//    ID tokens with GitHub's claim set) that also serves the runner's token request endpoint
//    (ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN, `&audience=`), so an Action can
//    be run exactly as the runner runs it.
//  - `gitlab`: an issuer shaped like a GitLab instance's (discovery, JWKS at /oauth/discovery/keys,
//    ID tokens with GitLab CI's claim set, as a job receives them in its `id_tokens` variables).
//
//   const idp = await startOidcProvider({ users: [{ login: 'alice', groups: ['payments'] }] });
//   ... idp.issuer, idp.clientId, await idp.browser('alice').open(authorizeUrl)
//   ... await idp.github.token({ repository: 'acme/payments-api' }, { audience: 'breakglass' })
//   await idp.stop(); // in after()
//
// Claim sets follow the published documentation and real tokens (checked when this was written):
// GitHub: https://docs.github.com/en/actions/reference/security/oidc; GitLab:
// https://docs.gitlab.com/ci/secrets/id_token_authentication/. Every claim value is a string as
// the real issuers send them, except GitLab's numeric runner_id.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export interface OidcUser {
  login: string;
  password: string;
  /** Stable subject identifier (what `sub` carries). */
  sub: string;
  email: string;
  name: string;
  /** Current IdP groups: change them with setGroups(); they reach the next ID token issued. */
  groups: string[];
}

export type OidcUserInput = { login: string } & Partial<Omit<OidcUser, 'login'>>;

export interface StartOidcProviderOptions {
  users?: OidcUserInput[];
  /** ID token lifetime at the people issuer (default 3600 s). */
  idTokenTtlSeconds?: number;
  /** Refresh token lifetime (default 14 days). */
  refreshTokenTtlSeconds?: number;
  /**
   * `interval` in device authorization responses (RFC 8628 3.2). oidc-provider sends none, which
   * means 5 s; a CLI test that polls from a child process sets 1 to keep the suite fast.
   */
  deviceIntervalSeconds?: number;
}

export interface OidcProviderHarness {
  /** The people issuer (oidc-provider), e.g. http://127.0.0.1:41234 */
  issuer: string;
  /** Origin of the server holding all three issuers. */
  origin: string;
  /**
   * The public native client the CLI and the console use: code + PKCE with a loopback redirect
   * (http://127.0.0.1:<any port>/callback), the device grant and refresh tokens.
   */
  clientId: string;
  /** Another client of the same IdP: its ID tokens carry the wrong audience for `clientId`. */
  otherClientId: string;
  /** Scopes the provider supports (openid, offline_access, profile, email, groups). */
  scopes: readonly string[];
  addUser(user: OidcUserInput): OidcUser;
  user(login: string): OidcUser;
  /** Replace a user's IdP groups (a person moved teams, lost an approver group...). */
  setGroups(login: string, groups: string[]): void;
  /** A browser signed in as nobody yet, that will enter `login`'s credentials when asked. */
  browser(login: string, options?: BrowserOptions): IdpBrowser;
  /** Number of requests the server received for a path (e.g. '/jwks', '/github-actions/.well-known/jwks'). */
  requestCount(path: string): number;
  /** Errors oidc-provider reported (server_error and friends), for diagnostics. */
  readonly providerErrors: string[];
  github: GitHubIssuer;
  gitlab: GitLabIssuer;
  stop(): Promise<void>;
}

export interface BrowserOptions {
  /** Type this password instead of the user's (a failed login). */
  password?: string;
  /** Press "Abort" on the device confirmation page / refuse consent. */
  deny?: boolean;
}

/** Where a browser walk ended: the first response outside the IdP (e.g. the loopback redirect), or the IdP's last page. */
export interface BrowserResult {
  url: string;
  status: number;
  body: string;
  /** True when the walk left the IdP (it followed a redirect to another origin). */
  leftIdp: boolean;
}

export interface IdpBrowser {
  /** Open a URL (an authorization request) and act as the person until the IdP lets go. */
  open(url: string): Promise<BrowserResult>;
  /** Enter a device flow user code at the verification URI and approve (or deny) it. */
  approveDevice(verificationUri: string, userCode: string): Promise<BrowserResult>;
}

export interface MintOptions {
  /** `aud` (default the issuer's conventional default). */
  audience?: string | string[];
  /** `iat` in epoch seconds (default now). */
  issuedAt?: number;
  /** exp - iat in seconds (default the issuer's real lifetime). */
  lifetimeSeconds?: number;
  /** Sign with the current key (default), the previous one (after a rotation) or a key the JWKS never published (a forgery). */
  key?: 'current' | 'previous' | 'unpublished';
  /** Override the `iss` claim (a token claiming another issuer). */
  issuer?: string;
}

export interface CiIssuer {
  /** The issuer URL (`iss`), e.g. http://127.0.0.1:41234/github-actions */
  issuer: string;
  discoveryUrl: string;
  jwksUri: string;
  /** Sign arbitrary claims as this issuer (iss, iat, nbf, exp, jti and aud are filled in unless given). */
  mint(claims: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /**
   * New signing key; the JWKS then serves [new, previous] (`dropPrevious` serves only the new
   * one), as an issuer does during a key rotation.
   */
  rotateKeys(options?: { dropPrevious?: boolean }): Promise<void>;
  /** Key ids the JWKS serves now, signing key first. */
  keyIds(): string[];
}

export interface GitHubJob {
  /** owner/name */
  repository: string;
  /** Default refs/heads/main. */
  ref?: string;
  /** Default push. */
  event_name?: string;
  environment?: string;
  /** Workflow name (default CI). */
  workflow?: string;
  /** Workflow file under .github/workflows (default ci.yml). */
  workflowFile?: string;
  /** A reusable workflow that runs the job (owner/repo/.github/workflows/x.yml@ref); default the workflow itself. */
  job_workflow_ref?: string;
  actor?: string;
  sha?: string;
  run_id?: string;
  /** Any claim to set or replace verbatim. */
  overrides?: Record<string, unknown>;
}

export interface GitHubIssuer extends CiIssuer {
  /** The claim set GitHub puts in a job's ID token (without iss/aud/iat/nbf/exp/jti). */
  claims(job: GitHubJob): Record<string, unknown>;
  /** claims() minted as a token; default audience https://github.com/<owner>, as GitHub does. */
  token(job: GitHubJob, options?: MintOptions): Promise<string>;
  /**
   * The runner's environment contract for this job: GET `${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=X`
   * with `Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}` answers `{"value": "<jwt>"}`.
   */
  runnerEnv(job: GitHubJob): { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** The token requests the runner endpoint served (audience as requested, null when absent). */
  readonly tokenRequests: { audience: string | null }[];
}

export interface GitLabJob {
  /** group[/subgroup]/project */
  project_path: string;
  /** Branch or tag name, without refs/ (as GitLab sends it); default main. */
  ref?: string;
  ref_type?: 'branch' | 'tag';
  pipeline_source?: string;
  environment?: string;
  user_login?: string;
  sha?: string;
  overrides?: Record<string, unknown>;
}

export interface GitLabIssuer extends CiIssuer {
  claims(job: GitLabJob): Record<string, unknown>;
  /** claims() minted as a token with the audience the job's `id_tokens:` entry names. */
  token(job: GitLabJob, options: MintOptions & { audience: string | string[] }): Promise<string>;
}

const CLIENT_ID = 'breakglass';
const OTHER_CLIENT_ID = 'other-app';
const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'groups'] as const;
const GITHUB_PATH = '/github-actions';
const GITLAB_PATH = '/gitlab';
const RUNNER_PATH = '/_runner/idtoken';
/** GitHub Actions tokens: valid 5 minutes, nbf 5 minutes before iat (as in real tokens). */
const GITHUB_LIFETIME_S = 300;
const GITHUB_NBF_SKEW_S = 300;
/** GitLab ID tokens live as long as the job may (default job timeout 1 h); nbf 5 s before iat. */
const GITLAB_LIFETIME_S = 3600;
const GITLAB_NBF_SKEW_S = 5;
const MAX_FORM_BYTES = 64 * 1024;
const MAX_BROWSER_STEPS = 30;

export async function startOidcProvider(options: StartOidcProviderOptions = {}): Promise<OidcProviderHarness> {
  const users = new Map<string, OidcUser>();
  const bySub = new Map<string, OidcUser>();
  const counts = new Map<string, number>();
  const providerErrors: string[] = [];
  const runnerTokens = new Map<string, GitHubJob>();
  const tokenRequests: { audience: string | null }[] = [];

  const addUser = (input: OidcUserInput): OidcUser => {
    const user: OidcUser = {
      login: input.login,
      password: input.password ?? `pw-${input.login}`,
      sub: input.sub ?? `00u${randomBytes(8).toString('hex')}`,
      email: input.email ?? `${input.login}@example.com`,
      name: input.name ?? input.login.charAt(0).toUpperCase() + input.login.slice(1),
      groups: [...(input.groups ?? [])],
    };
    users.set(user.login, user);
    bySub.set(user.sub, user);
    return user;
  };
  for (const u of options.users ?? []) addUser(u);
  const userOf = (login: string): OidcUser => {
    const user = users.get(login);
    if (!user) throw new Error(`no user ${login} at the test IdP (users: ${[...users.keys()].join(', ')})`);
    return user;
  };

  let provider: Provider | undefined;
  let providerHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let github: GitHubIssuerImpl | undefined;
  let gitlab: GitLabIssuerImpl | undefined;

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    handle(req, res, path).catch((error: unknown) => {
      providerErrors.push(`${req.method} ${path}: ${(error as Error)?.stack ?? String(error)}`);
      if (!res.headersSent) sendText(res, 500, 'internal error in the test IdP');
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path.startsWith(`${GITHUB_PATH}/`)) return github!.serve(req, res, path.slice(GITHUB_PATH.length));
    if (path.startsWith(`${GITLAB_PATH}/`)) return gitlab!.serve(req, res, path.slice(GITLAB_PATH.length));
    const interaction = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/.exec(path);
    if (interaction) return serveInteraction(req, res, interaction[1]!, interaction[2]);
    providerHandler!(req, res);
  }

  async function serveInteraction(req: IncomingMessage, res: ServerResponse, uid: string, step: string | undefined): Promise<void> {
    const details = await provider!.interactionDetails(req, res);
    if (details.uid !== uid) return sendText(res, 400, 'interaction mismatch');
    const client = typeof details.params.client_id === 'string' ? details.params.client_id : '?';
    if (req.method === 'GET' && step === undefined) {
      if (details.prompt.name === 'login') return sendHtml(res, 200, loginPage(uid, client, ''));
      return sendHtml(res, 200, consentPage(uid, client, String(details.params.scope ?? '')));
    }
    if (req.method !== 'POST') return sendText(res, 405, 'method not allowed');
    const form = await readForm(req);
    let result: Record<string, unknown>;
    if (step === 'login') {
      const user = users.get(form.get('login') ?? '');
      if (!user || user.password !== form.get('password')) return sendHtml(res, 200, loginPage(uid, client, 'Invalid login or password.'));
      result = { login: { accountId: user.sub } };
    } else if (step === 'confirm') {
      if (form.get('deny') === 'yes') {
        result = { error: 'access_denied', error_description: 'the user refused' };
      } else {
        const accountId = details.session?.accountId;
        if (!accountId) return sendText(res, 400, 'no signed-in session');
        const grant = details.grantId ? await provider!.Grant.find(details.grantId) : new provider!.Grant({ accountId, clientId: client });
        if (!grant) return sendText(res, 400, 'grant not found');
        const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
        result = { consent: { grantId: await grant.save() } };
      }
    } else {
      return sendText(res, 404, 'not found');
    }
    const returnTo = await provider!.interactionResult(req, res, result, { mergeWithLastSubmission: step === 'confirm' });
    res.statusCode = 303;
    res.setHeader('location', returnTo);
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  try {
    // The three issuers' keys in parallel (RSA key generation dominates start-up on a busy machine).
    const [peopleKey, githubKey, gitlabKey] = await Promise.all([newSigningKey('people'), newSigningKey('gh'), newSigningKey('gl')]);
    const signingJwk = { ...(await exportJWK(peopleKey.privateKey)), kid: peopleKey.kid, alg: 'RS256', use: 'sig' };
    provider = new Provider(origin, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_name: 'Breakglass',
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
          response_types: ['code'],
          // RFC 8252: a native client's loopback redirect may use any port. The second is a store's
          // request page on 127.0.0.1 (its single sign-on comes back to <store>/request/callback).
          redirect_uris: ['http://127.0.0.1/callback', 'http://127.0.0.1/request/callback'],
        },
        {
          client_id: OTHER_CLIENT_ID,
          client_name: 'Another application',
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
          response_types: ['code'],
          redirect_uris: ['http://127.0.0.1/callback'],
        },
      ],
      adapter: MapAdapter.factory(),
      jwks: { keys: [signingJwk] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      scopes: [...SCOPES],
      claims: {
        openid: ['sub'],
        profile: ['name', 'preferred_username'],
        email: ['email', 'email_verified'],
        groups: ['groups'],
      },
      // Scope claims in the ID token itself (as Okta, Entra ID and Keycloak put `groups` there).
      conformIdTokenClaims: false,
      findAccount: async (_ctx: unknown, sub: string) => {
        const user = bySub.get(sub);
        if (!user) return undefined;
        return {
          accountId: sub,
          claims: async () => ({ sub, name: user.name, preferred_username: user.login, email: user.email, email_verified: true, groups: [...user.groups] }),
        };
      },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        deviceFlow: {
          enabled: true,
          userCodeInputSource: async (ctx: { body: string }, form: string, _out: unknown, err: unknown) => {
            ctx.body = page('Enter your code', `${err ? '<p data-error="code">That code is not valid.</p>' : ''}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
          },
          userCodeConfirmSource: async (ctx: { body: string }, form: string, client: { clientId: string }, _info: unknown, userCode: string) => {
            ctx.body = page('Confirm the device', `<p>${escapeHtml(client.clientId)} shows the code <code>${escapeHtml(userCode)}</code></p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button><button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
          },
          successSource: async (ctx: { body: string }) => {
            ctx.body = page('Signed in', '<p data-done="device">You may return to your device.</p>');
          },
        },
        revocation: { enabled: true },
      },
      pkce: { required: () => true, methods: ['S256'] },
      ttl: {
        IdToken: options.idTokenTtlSeconds ?? 3600,
        AccessToken: options.idTokenTtlSeconds ?? 3600,
        RefreshToken: options.refreshTokenTtlSeconds ?? 14 * 86_400,
        AuthorizationCode: 60,
        DeviceCode: 600,
        Interaction: 600,
        Session: 86_400,
        Grant: 14 * 86_400,
      },
      renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
        ctx.type = 'html';
        ctx.body = page('Error', `<p data-error="${escapeHtml(out.error ?? 'error')}">${escapeHtml(out.error ?? '')}: ${escapeHtml(out.error_description ?? '')}</p>`);
      },
    });
    for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error', 'device_authorization.error', 'revocation.error']) {
      provider.on(event, (...args: unknown[]) => {
        const error = args.find((a) => a instanceof Error) as Error | undefined;
        providerErrors.push(`${event}: ${error?.message ?? ''}${(error as { error_description?: string })?.error_description ? ` (${(error as { error_description?: string }).error_description})` : ''}`);
      });
    }
    if (options.deviceIntervalSeconds !== undefined) {
      const interval = options.deviceIntervalSeconds;
      provider.use(async (ctx, next) => {
        await next();
        const body = ctx.body as Record<string, unknown> | undefined;
        if (ctx.method === 'POST' && body && typeof body === 'object' && typeof body.device_code === 'string') body.interval = interval;
      });
    }
    providerHandler = provider.callback();
    github = GitHubIssuerImpl.create(`${origin}${GITHUB_PATH}`, githubKey, runnerTokens, tokenRequests);
    gitlab = GitLabIssuerImpl.create(`${origin}${GITLAB_PATH}`, gitlabKey);
  } catch (error) {
    await closeServer(server);
    throw error;
  }

  return {
    issuer: origin,
    origin,
    clientId: CLIENT_ID,
    otherClientId: OTHER_CLIENT_ID,
    scopes: SCOPES,
    addUser,
    user: userOf,
    setGroups(login, groups) {
      userOf(login).groups = [...groups];
    },
    browser(login, browserOptions = {}) {
      return new Browser(origin, userOf(login), browserOptions, providerErrors);
    },
    requestCount: (path) => counts.get(path) ?? 0,
    providerErrors,
    github: github!,
    gitlab: gitlab!,
    stop: () => closeServer(server),
  };
}

// ---------------------------------------------------------------- CI issuers

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newSigningKey(prefix: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `${prefix}-${randomBytes(6).toString('hex')}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

abstract class CiIssuerImpl implements CiIssuer {
  protected keys: SigningKey[];
  /** Made on first use: RSA key generation is the slowest part of starting the harness. */
  private unpublished: Promise<SigningKey> | undefined;
  private previous: SigningKey | undefined;

  protected constructor(
    readonly issuer: string,
    readonly jwksPath: string,
    first: SigningKey,
  ) {
    this.keys = [first];
  }

  get discoveryUrl(): string {
    return `${this.issuer}/.well-known/openid-configuration`;
  }

  get jwksUri(): string {
    return `${this.issuer}${this.jwksPath}`;
  }

  keyIds(): string[] {
    return this.keys.map((k) => k.kid);
  }

  async rotateKeys(options: { dropPrevious?: boolean } = {}): Promise<void> {
    const next = await newSigningKey(this.keyPrefix());
    this.previous = this.keys[0];
    this.keys = options.dropPrevious ? [next] : [next, this.keys[0]!];
  }

  protected abstract keyPrefix(): string;
  protected abstract defaultLifetime(): number;
  protected abstract nbfSkew(): number;
  protected abstract header(key: SigningKey): Record<string, unknown>;
  protected abstract discovery(): Record<string, unknown>;

  async mint(claims: Record<string, unknown>, options: MintOptions = {}): Promise<string> {
    const key = options.key === 'unpublished' ? await (this.unpublished ??= newSigningKey(`${this.keyPrefix()}-unpublished`)) : options.key === 'previous' ? (this.previous ?? this.keys[0]!) : this.keys[0]!;
    const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
    const payload: JWTPayload = {
      jti: randomUUID(),
      ...claims,
      iss: options.issuer ?? (claims.iss as string | undefined) ?? this.issuer,
      iat,
      nbf: iat - this.nbfSkew(),
      exp: iat + (options.lifetimeSeconds ?? this.defaultLifetime()),
    };
    if (options.audience !== undefined) payload.aud = options.audience;
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', ...this.header(key) } as { alg: string }).sign(key.privateKey);
  }

  /** Requests under the issuer path (discovery, JWKS, and for GitHub the runner endpoint). */
  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET') return sendText(res, 405, 'method not allowed');
    if (path === '/.well-known/openid-configuration') return sendJson(res, 200, this.discovery());
    if (path === this.jwksPath) return sendJson(res, 200, { keys: this.keys.map((k) => k.publicJwk) });
    return this.serveMore(req, res, path);
  }

  protected async serveMore(_req: IncomingMessage, res: ServerResponse, _path: string): Promise<void> {
    sendText(res, 404, 'not found');
  }
}

class GitHubIssuerImpl extends CiIssuerImpl implements GitHubIssuer {
  static create(issuer: string, key: SigningKey, runnerTokens: Map<string, GitHubJob>, tokenRequests: { audience: string | null }[]): GitHubIssuerImpl {
    return new GitHubIssuerImpl(issuer, key, runnerTokens, tokenRequests);
  }

  private constructor(
    issuer: string,
    first: SigningKey,
    private readonly runnerTokens: Map<string, GitHubJob>,
    readonly tokenRequests: { audience: string | null }[],
  ) {
    // GitHub serves its JWKS at <issuer>/.well-known/jwks.
    super(issuer, '/.well-known/jwks', first);
  }

  protected keyPrefix(): string {
    return 'gh';
  }
  protected defaultLifetime(): number {
    return GITHUB_LIFETIME_S;
  }
  protected nbfSkew(): number {
    return GITHUB_NBF_SKEW_S;
  }
  protected header(key: SigningKey): Record<string, unknown> {
    // GitHub's header carries typ, kid and x5t (the certificate thumbprint; here derived from the kid).
    return { typ: 'JWT', kid: key.kid, x5t: Buffer.from(key.kid).toString('base64url') };
  }
  protected discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: this.jwksUri,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'sha', 'repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'run_id', 'run_number', 'run_attempt', 'actor', 'actor_id', 'workflow', 'workflow_ref', 'workflow_sha', 'head_ref', 'base_ref', 'event_name', 'ref_type', 'ref_protected', 'environment', 'environment_node_id', 'job_workflow_ref', 'job_workflow_sha', 'repository_visibility', 'runner_environment', 'check_run_id'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    };
  }

  claims(job: GitHubJob): Record<string, unknown> {
    const repository = job.repository;
    const owner = repository.split('/')[0] ?? repository;
    const ref = job.ref ?? 'refs/heads/main';
    const event = job.event_name ?? 'push';
    const refType = ref.startsWith('refs/heads/') ? 'branch' : ref.startsWith('refs/tags/') ? 'tag' : '';
    const workflowFile = job.workflowFile ?? 'ci.yml';
    const workflowRef = `${repository}/.github/workflows/${workflowFile}@${ref}`;
    const sha = job.sha ?? randomBytes(20).toString('hex');
    const sub = job.environment ? `repo:${repository}:environment:${job.environment}` : event === 'pull_request' ? `repo:${repository}:pull_request` : `repo:${repository}:ref:${ref}`;
    const claims: Record<string, unknown> = {
      sub,
      ref,
      sha,
      repository,
      repository_owner: owner,
      repository_owner_id: String(1000 + (owner.length * 7919) % 100_000),
      repository_id: String(100_000 + (repository.length * 104_729) % 1_000_000),
      repository_visibility: 'private',
      run_id: job.run_id ?? String(10_000_000_000 + Math.floor(Math.random() * 1e9)),
      run_number: '42',
      run_attempt: '1',
      actor: job.actor ?? 'octocat',
      actor_id: '583231',
      workflow: job.workflow ?? 'CI',
      workflow_ref: workflowRef,
      workflow_sha: sha,
      head_ref: event === 'pull_request' ? 'feature' : '',
      base_ref: event === 'pull_request' ? 'main' : '',
      event_name: event,
      ref_type: refType,
      ref_protected: refType === 'branch' ? 'true' : 'false',
      job_workflow_ref: job.job_workflow_ref ?? workflowRef,
      job_workflow_sha: sha,
      runner_environment: 'github-hosted',
      check_run_id: String(40_000_000_000 + Math.floor(Math.random() * 1e9)),
    };
    if (job.environment) claims.environment = job.environment;
    return { ...claims, ...(job.overrides ?? {}) };
  }

  token(job: GitHubJob, options: MintOptions = {}): Promise<string> {
    const owner = job.repository.split('/')[0] ?? job.repository;
    return this.mint(this.claims(job), { ...options, audience: options.audience ?? `https://github.com/${owner}` });
  }

  runnerEnv(job: GitHubJob): { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string } {
    const token = randomBytes(24).toString('base64url');
    this.runnerTokens.set(token, job);
    return { ACTIONS_ID_TOKEN_REQUEST_URL: `${this.issuer}${RUNNER_PATH}?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: token };
  }

  protected override async serveMore(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path !== RUNNER_PATH) return sendText(res, 404, 'not found');
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const job = match ? this.runnerTokens.get(match[1]!) : undefined;
    if (!job) return sendJson(res, 401, { message: 'Unauthorized: bad or missing ACTIONS_ID_TOKEN_REQUEST_TOKEN' });
    const audience = new URL(req.url ?? '/', 'http://x').searchParams.get('audience');
    this.tokenRequests.push({ audience });
    sendJson(res, 200, { value: await this.token(job, audience ? { audience } : {}) });
  }
}

class GitLabIssuerImpl extends CiIssuerImpl implements GitLabIssuer {
  static create(issuer: string, key: SigningKey): GitLabIssuerImpl {
    return new GitLabIssuerImpl(issuer, key);
  }

  private constructor(issuer: string, first: SigningKey) {
    // A GitLab instance serves its JWKS at <instance>/oauth/discovery/keys.
    super(issuer, '/oauth/discovery/keys', first);
  }

  protected keyPrefix(): string {
    return 'gl';
  }
  protected defaultLifetime(): number {
    return GITLAB_LIFETIME_S;
  }
  protected nbfSkew(): number {
    return GITLAB_NBF_SKEW_S;
  }
  protected header(key: SigningKey): Record<string, unknown> {
    return { typ: 'JWT', kid: key.kid };
  }
  protected discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/oauth/authorize`,
      token_endpoint: `${this.issuer}/oauth/token`,
      jwks_uri: this.jwksUri,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'namespace_id', 'namespace_path', 'project_id', 'project_path', 'user_id', 'user_login', 'user_email', 'user_access_level', 'pipeline_id', 'pipeline_source', 'job_id', 'ref', 'ref_type', 'ref_path', 'ref_protected', 'environment', 'environment_protected', 'deployment_tier', 'environment_action', 'runner_id', 'runner_environment', 'sha', 'ci_config_ref_uri', 'ci_config_sha', 'project_visibility'],
    };
  }

  claims(job: GitLabJob): Record<string, unknown> {
    const projectPath = job.project_path;
    const namespacePath = projectPath.split('/').slice(0, -1).join('/') || projectPath;
    const ref = job.ref ?? 'main';
    const refType = job.ref_type ?? 'branch';
    const host = new URL(this.issuer).host;
    const claims: Record<string, unknown> = {
      namespace_id: String(100 + namespacePath.length),
      namespace_path: namespacePath,
      project_id: String(20_000 + projectPath.length * 13),
      project_path: projectPath,
      user_id: '4242',
      user_login: job.user_login ?? 'jdoe',
      user_email: `${job.user_login ?? 'jdoe'}@example.com`,
      user_access_level: 'developer',
      pipeline_id: String(900_000 + Math.floor(Math.random() * 99_999)),
      pipeline_source: job.pipeline_source ?? 'push',
      job_id: String(7_000_000 + Math.floor(Math.random() * 999_999)),
      ref,
      ref_type: refType,
      ref_path: `refs/${refType === 'tag' ? 'tags' : 'heads'}/${ref}`,
      ref_protected: 'true',
      runner_id: 12_270_857,
      runner_environment: 'gitlab-hosted',
      sha: job.sha ?? randomBytes(20).toString('hex'),
      project_visibility: 'private',
      ci_config_ref_uri: `${host}/${projectPath}//.gitlab-ci.yml@refs/heads/${ref}`,
      ci_config_sha: randomBytes(20).toString('hex'),
      sub: `project_path:${projectPath}:ref_type:${refType}:ref:${ref}`,
    };
    if (job.environment) {
      claims.environment = job.environment;
      claims.environment_protected = 'true';
      claims.deployment_tier = job.environment === 'production' ? 'production' : 'other';
      claims.environment_action = 'start';
    }
    return { ...claims, ...(job.overrides ?? {}) };
  }

  token(job: GitLabJob, options: MintOptions & { audience: string | string[] }): Promise<string> {
    return this.mint(this.claims(job), options);
  }
}

// ---------------------------------------------------------------- the browser

interface ParsedForm {
  id: string;
  action: string;
  fields: Map<string, string>;
}

/** A minimal user agent: a cookie jar, manual redirects, and the forms the IdP pages show. */
class Browser implements IdpBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(
    private readonly origin: string,
    private readonly user: OidcUser,
    private readonly options: BrowserOptions,
    private readonly providerErrors: string[],
  ) {}

  open(url: string): Promise<BrowserResult> {
    return this.walk({ url, method: 'GET' });
  }

  async approveDevice(verificationUri: string, userCode: string): Promise<BrowserResult> {
    return this.walk({ url: verificationUri, method: 'GET' }, userCode);
  }

  private async walk(start: { url: string; method: 'GET' | 'POST'; body?: string }, userCode?: string): Promise<BrowserResult> {
    let next = start;
    for (let step = 0; step < MAX_BROWSER_STEPS; step++) {
      const target = new URL(next.url);
      const atIdp = target.origin === this.origin;
      const headers: Record<string, string> = { accept: 'text/html' };
      if (atIdp && this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      if (next.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(target, { method: next.method, headers, body: next.body, redirect: 'manual' });
      if (!atIdp) return { url: target.href, status: response.status, body: await response.text(), leftIdp: true };
      this.keepCookies(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        next = { url: new URL(location, target).href, method: 'GET' };
        continue;
      }
      const body = await response.text();
      if (response.status >= 400 || /data-error=/.test(body)) {
        return { url: target.href, status: response.status, body, leftIdp: false };
      }
      const form = parseForms(body)[0];
      if (!form) return { url: target.href, status: response.status, body, leftIdp: false };
      const fields = new URLSearchParams([...form.fields]);
      if (form.id === 'login') {
        fields.set('login', this.user.login);
        fields.set('password', this.options.password ?? this.user.password);
      } else if (form.id === 'consent') {
        if (this.options.deny) fields.set('deny', 'yes');
      } else if (form.id === 'op.deviceInputForm') {
        if (userCode === undefined) throw new Error('the IdP asks for a device code but none was given');
        fields.set('user_code', userCode);
      } else if (form.id === 'op.deviceConfirmForm') {
        if (this.options.deny) fields.set('abort', 'yes');
      } else if (form.id === '' && /document\.forms\[0\]\.submit\(\)/.test(body)) {
        // oidc-provider's self-submitting page (a script posts the form at once): submit it as is.
      } else {
        throw new Error(`unexpected form ${form.id} at ${target.href}`);
      }
      if (form.id === 'login' && step > 0 && /Invalid login/.test(body)) {
        return { url: target.href, status: response.status, body, leftIdp: false };
      }
      next = { url: new URL(form.action, target).href, method: 'POST', body: fields.toString() };
    }
    throw new Error(`the IdP did not let go after ${MAX_BROWSER_STEPS} steps${this.providerErrors.length ? `; provider errors:\n${this.providerErrors.join('\n')}` : ''}`);
  }

  private keepCookies(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq < 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

function parseForms(html: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = match[1]!;
    const fields = new Map<string, string>();
    for (const input of match[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1]!, 'name');
      if (name) fields.set(name, decodeHtml(attribute(input[1]!, 'value') ?? ''));
    }
    forms.push({ id: attribute(attributes, 'id') ?? '', action: decodeHtml(attribute(attributes, 'action') ?? ''), fields });
  }
  return forms;
}

function attribute(attributes: string, name: string): string | undefined {
  return new RegExp(`\\b${name.replace('.', '\\.')}="([^"]*)"`, 'i').exec(attributes)?.[1];
}

// ---------------------------------------------------------------- pages and plumbing

function loginPage(uid: string, client: string, error: string): string {
  return page(
    'Sign in',
    `<p>Sign in to continue to ${escapeHtml(client)}</p>${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${uid}/login">
  <input type="text" name="login" placeholder="Username" autofocus>
  <input type="password" name="password" placeholder="Password">
  <button type="submit">Sign in</button>
</form>`,
  );
}

function consentPage(uid: string, client: string, scope: string): string {
  return page(
    'Allow access',
    `<p>${escapeHtml(client)} asks for: ${escapeHtml(scope)}</p>
<form id="consent" method="post" action="/interaction/${uid}/confirm">
  <input type="hidden" name="confirm" value="yes">
  <button type="submit">Allow</button>
</form>`,
  );
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function decodeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * oidc-provider's storage for one harness (its own Maps, so two providers in one test never share
 * state). Expiry is checked on read against real time, as oidc-provider's own tokens are dated.
 */
class MapAdapter {
  static factory(): (model: string) => MapAdapter {
    const store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
    return (model: string) => new MapAdapter(model, store);
  }

  private constructor(
    private readonly model: string,
    private readonly store: Map<string, { payload: Record<string, unknown>; expiresAt: number }>,
  ) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  private get(key: string): Record<string, unknown> | undefined {
    const hit = this.store.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= Date.now()) {
      this.store.delete(key);
      return undefined;
    }
    return hit.payload;
  }

  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void> {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Number.MAX_SAFE_INTEGER;
    this.store.set(this.key(id), { payload, expiresAt });
    if (typeof payload.uid === 'string' && this.model === 'Session') this.store.set(`sessionUid:${payload.uid}`, { payload: { id }, expiresAt });
    if (typeof payload.userCode === 'string') this.store.set(`userCode:${payload.userCode}`, { payload: { id }, expiresAt });
    if (typeof payload.grantId === 'string') {
      const grantKey = `grant:${payload.grantId}`;
      const list = (this.get(grantKey)?.keys as string[] | undefined) ?? [];
      list.push(this.key(id));
      this.store.set(grantKey, { payload: { keys: list }, expiresAt: Number.MAX_SAFE_INTEGER });
    }
  }

  async find(id: string): Promise<Record<string, unknown> | undefined> {
    return this.get(this.key(id));
  }

  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    const ref = this.get(`sessionUid:${uid}`);
    return ref ? this.find(ref.id as string) : undefined;
  }

  async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
    const ref = this.get(`userCode:${userCode}`);
    return ref ? this.find(ref.id as string) : undefined;
  }

  async consume(id: string): Promise<void> {
    const payload = this.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = `grant:${grantId}`;
    for (const key of (this.get(grantKey)?.keys as string[] | undefined) ?? []) this.store.delete(key);
    this.store.delete(grantKey);
  }
}
