// A real OpenID Connect server from the npm registry (`oidc-provider`), run
// in-process on a free loopback port: a provider Patchbay had no hand in.
// Its development pages sign in any login name (the password is ignored)
// and ask for consent once; the browser then stays signed in, as at a real
// provider, until the server is told to ask again (`prompt=login`).
//
// Its userinfo endpoint (`/me`) refuses a request carrying an `Origin` that
// is not one of the client's, as real OpenID Connect servers do.

import http from 'node:http';

import Provider from 'oidc-provider';

export const CLIENT_ID = 'patchbay';
export const CLIENT_SECRET = 'oidc-peer-client-secret-not-a-real-one';

/**
 * Starts the server for one OAuth client whose redirect URI is
 * `redirectUri`. Resolves to `{issuer, close()}`; `issuer` is on
 * `localhost`, so its cookies never mix with Patchbay's on `127.0.0.1`.
 */
export async function startOidcPeer({ redirectUri }) {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://localhost:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: `${sub[0].toUpperCase()}${sub.slice(1)}`, email: `${sub}@oidc-peer.test` }),
    }),
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    pkce: { required: () => true, methods: ['S256'] },
    // Tokens outlive the browser's sign-in, as at Google or Microsoft: signing in as another
    // user in the same browser must not end the first account's access.
    expiresWithSession: () => false,
  });
  // The development-only warnings are expected here.
  provider.on('server_error', (_ctx, error) => console.error('oidc-peer:', error));
  server.on('request', provider.callback());
  return {
    issuer,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Answers the peer's sign-in page in `popup` as `login` (if it asks), then
 * its consent page (if it asks), and waits for the popup to close.
 */
export async function signInAtPeer(popup, login) {
  const closed = popup.waitForEvent('close');
  await popup.waitForSelector('input[name="login"]');
  await popup.fill('input[name="login"]', login);
  await popup.fill('input[name="password"]', 'any password');
  await Promise.all([popup.waitForNavigation(), popup.click('button[type="submit"]')]);
  if (!popup.isClosed() && (await popup.locator('button[type="submit"]').count()) > 0) {
    await popup.click('button[type="submit"]');
  }
  await closed;
}
