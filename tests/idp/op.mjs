// SPDX-License-Identifier: BSD-2-Clause
// The test OpenID Provider of the pam_portcullis tests: panva's
// oidc-provider with the device authorization grant (RFC 8628) and its
// development login/consent pages (any password), over HTTPS with the
// per-run test CA. A fresh signing key on every start, so a restart is a
// key rotation.
//
// node op.mjs --port P --tls-cert F --tls-key F --ready-file F
//             [--request-log F] [--signing-alg RS256|PS256|ES256|EdDSA]
//             [--client-secret S]
// env: OP_DEVICE_TTL (s, default 600), OP_INTERVAL (s: advertise it and
//      answer slow_down to faster polls)
import * as https from 'node:https';
import * as fs from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: a } = parseArgs({
  options: {
    port: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'ready-file': { type: 'string' },
    'request-log': { type: 'string' },
    'signing-alg': { type: 'string', default: 'RS256' },
    'client-secret': { type: 'string' },
  },
});
const port = Number(a.port);
const issuer = `https://127.0.0.1:${port}`;
const alg = a['signing-alg'];

function freshKey() {
  let pair;
  if (alg === 'ES256') pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519');
  else pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair.privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

// Groups of the test accounts: OP_GROUPS='{"login":["dba","ops"]}'; any
// other login gets none.
const ACCOUNTS = JSON.parse(process.env.OP_GROUPS || '{}');

const client = {
  client_id: 'bastion',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  response_types: [],
  redirect_uris: [],
  id_token_signed_response_alg: alg,
  token_endpoint_auth_method: a['client-secret'] ? 'client_secret_basic' : 'none',
};
if (a['client-secret']) client.client_secret = a['client-secret'];

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [freshKey()] },
  cookies: { keys: [randomUUID()] },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // the scope claims in the ID token itself, as most IdPs do
  conformIdTokenClaims: false,
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    async claims() {
      return {
        sub, preferred_username: sub, name: sub,
        email: `${sub}@example.test`, email_verified: true,
        groups: ACCOUNTS[sub] || [],
      };
    },
  }),
  ttl: { DeviceCode: Number(process.env.OP_DEVICE_TTL || 600), IdToken: 3600, AccessToken: 3600 },
});

const INTERVAL = Number(process.env.OP_INTERVAL || 0);
const lastPoll = new Map();
provider.use(async (ctx, next) => {
  if (a['request-log']) fs.appendFileSync(a['request-log'], `${ctx.method} ${ctx.path}\n`);
  if (INTERVAL > 0 && ctx.method === 'POST' && ctx.path === '/token') {
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    ctx.request.body = raw;
    const dc = new URLSearchParams(raw.toString()).get('device_code');
    const now = Date.now();
    const prev = lastPoll.get(dc);
    lastPoll.set(dc, now);
    if (prev && now - prev < INTERVAL * 1000) {
      ctx.status = 400;
      ctx.body = { error: 'slow_down' };
      return;
    }
  }
  await next();
  if (INTERVAL > 0 && ctx.path === '/device/auth' && ctx.status === 200) {
    ctx.body = { ...ctx.body, interval: INTERVAL };
  }
});

const server = https.createServer(
  { cert: fs.readFileSync(a['tls-cert']), key: fs.readFileSync(a['tls-key']) },
  provider.callback(),
);
server.listen(port, '127.0.0.1', () => {
  if (a['ready-file']) fs.writeFileSync(a['ready-file'], `${process.pid}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
