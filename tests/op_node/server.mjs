// node-oidc-provider (a certified OpenID Provider) configured for oidc-rp's integration tests.
//
// Usage: node server.mjs CONFIG.json
// The JSON file (written by tests/support/node_op.py) holds:
//   port, issuer, clients            required
//   ttl, jwks, accounts, registration, features, enabledJWA, pkceRequired,
//   requirePushedAuthorizationRequests, requireSignedRequestObject, clockTolerance   optional
// See README.md beside this file. Prints "READY <issuer>" on stdout once listening on 127.0.0.1.
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node server.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const { port, issuer } = config;
if (!Number.isInteger(port) || typeof issuer !== 'string') {
  console.error('config: "port" (integer) and "issuer" (string) are required');
  process.exit(2);
}

// Signing keys: the private JWKS from the config file if given, else an RSA 2048 key
// (RS256, PS256), an EC P-256 key (ES256) and an Ed25519 key (Ed25519 and EdDSA) generated
// now. The keys carry no "alg", so each serves every algorithm its type allows.
function generateJwks() {
  const specs = [
    ['rsa', { modulusLength: 2048 }],
    ['ec', { namedCurve: 'P-256' }],
    ['ed25519', {}],
  ];
  return {
    keys: specs.map(([type, options]) => {
      const { privateKey } = crypto.generateKeyPairSync(type, options);
      const jwk = privateKey.export({ format: 'jwk' });
      return { ...jwk, use: 'sig', kid: `${type}-${crypto.randomBytes(4).toString('hex')}` };
    }),
  };
}

// Accounts: any login name is an account; its claims are made up from the name, and
// config.accounts[name] overrides or adds claims (a null value removes a claim).
function claimsFor(accountId) {
  const given = accountId.charAt(0).toUpperCase() + accountId.slice(1);
  const base = {
    sub: accountId,
    name: `${given} Example`,
    given_name: given,
    family_name: 'Example',
    preferred_username: accountId,
    locale: 'en-US',
    updated_at: 1700000000,
    email: `${accountId}@example.com`,
    email_verified: true,
    phone_number: '+1 555 0100',
    phone_number_verified: false,
    address: { country: 'US', locality: 'Springfield' },
  };
  const merged = { ...base, ...(config.accounts?.[accountId] ?? {}) };
  for (const [key, value] of Object.entries(merged)) {
    if (value === null) delete merged[key];
  }
  return merged;
}

async function findAccount(ctx, accountId) {
  return {
    accountId,
    async claims() {
      return claimsFor(accountId);
    },
  };
}

const ttl = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  ClientCredentials: 600,
  DeviceCode: 600,
  BackchannelAuthenticationRequest: 600,
  IdToken: 3600,
  RefreshToken: 14 * 24 * 3600,
  Interaction: 3600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  ...(config.ttl ?? {}),
};

// Data-only feature overrides from the config file, merged over our defaults per feature.
const featureOverrides = config.features ?? {};
function feature(name, value) {
  return { ...value, ...(featureOverrides[name] ?? {}) };
}

// DPoP (RFC 9449): on, as in node-oidc-provider's defaults, used only when a client sends a
// proof. {"features": {"dPoP": {"nonceSecret": "text", "requireNonce": true}}} makes the OP
// issue DPoP-Nonce values (the text is hashed to the 32-byte secret node wants) and demand one
// in every proof (RFC 9449 §8 at the token and PAR endpoints, §9 at UserInfo).
function dpopFeature() {
  const { nonceSecret, requireNonce, ...rest } = featureOverrides.dPoP ?? {};
  return {
    enabled: true,
    ...rest,
    ...(nonceSecret === undefined ? {} : {
      nonceSecret: crypto.createHash('sha256').update(String(nonceSecret)).digest(),
    }),
    ...(requireNonce === undefined ? {} : { requireNonce: () => Boolean(requireNonce) }),
  };
}

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  jwks: config.jwks ?? generateJwks(),
  findAccount,
  ttl,
  clockTolerance: config.clockTolerance ?? 5,
  // Algorithm allow-lists, e.g. {"idTokenSigningAlgValues": ["HS256", "RS256"]} (lists given
  // replace the OP's defaults; see enabledJWA in node-oidc-provider's docs).
  ...(config.enabledJWA ? { enabledJWA: config.enabledJWA } : {}),
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'address', 'phone'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'updated_at'],
    email: ['email', 'email_verified'],
    phone: ['phone_number', 'phone_number_verified'],
    address: ['address'],
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
  },
  // PKCE (RFC 7636) is required for every client unless the config says otherwise; v9 only
  // knows the S256 method.
  pkce: { required: () => config.pkceRequired ?? true },
  // A refresh token whenever the client may use the refresh_token grant, even without the
  // offline_access scope (which the OP drops unless prompt=consent, OIDC Core §11).
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  features: {
    devInteractions: feature('devInteractions', { enabled: true }),
    registration: feature('registration', {
      enabled: true,
      initialAccessToken: config.registration?.initialAccessToken ?? false,
    }),
    registrationManagement: feature('registrationManagement', { enabled: false }),
    revocation: feature('revocation', { enabled: true }),
    introspection: feature('introspection', { enabled: true }),
    rpInitiatedLogout: feature('rpInitiatedLogout', { enabled: true }),
    backchannelLogout: feature('backchannelLogout', { enabled: true }),
    pushedAuthorizationRequests: feature('pushedAuthorizationRequests', {
      enabled: true,
      requirePushedAuthorizationRequests: config.requirePushedAuthorizationRequests ?? false,
    }),
    requestObjects: feature('requestObjects', {
      enabled: true,
      requireSignedRequestObject: config.requireSignedRequestObject ?? false,
    }),
    claimsParameter: feature('claimsParameter', { enabled: true }),
    userinfo: feature('userinfo', { enabled: true }),
    jwtUserinfo: feature('jwtUserinfo', { enabled: true }),
    clientCredentials: feature('clientCredentials', { enabled: true }),
    resourceIndicators: feature('resourceIndicators', { enabled: false }),
    // Encrypted ID tokens, UserInfo and logout tokens (OIDC Core §10.2): off unless the
    // config says {"features": {"encryption": {"enabled": true}}}.
    encryption: feature('encryption', { enabled: false }),
    dPoP: dpopFeature(),
  },
  // The OP's fetches (jwks_uri, backchannel_logout_uri) refuse loopback addresses by default
  // (SSRF protection); the RP under test lives on 127.0.0.1, so drop that guard here.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
});

// One line per notable event on stderr, for debugging failed tests (never token values).
for (const event of ['server_error', 'authorization.error', 'grant.error', 'backchannel.error',
  'registration_create.error', 'pushed_authorization_request.error', 'userinfo.error',
  'introspection.error', 'revocation.error', 'end_session.error']) {
  provider.on(event, (ctx, err) => {
    const error = err instanceof Error ? err : ctx;
    console.error(`${event}: ${error?.name}: ${error?.message}${error?.error_description ? ` (${error.error_description})` : ''}`);
  });
}
provider.on('backchannel.success', (ctx, client, accountId, sid) => {
  console.error(`backchannel.success: client_id=${client.clientId} sub=${accountId} sid=${sid}`);
});

// Static clients are validated lazily by the OP; check them now so a bad fixture fails fast.
for (const client of config.clients ?? []) {
  try {
    await provider.Client.find(String(client.client_id));
  } catch (err) {
    console.error(`invalid client ${client.client_id}: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`);
    process.exit(1);
  }
}

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});

// Never outlive the test process that started us (its death re-parents us).
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) shutdown();
}, 500).unref();

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
