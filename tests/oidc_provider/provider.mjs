// A real OpenID Connect provider for the single sign-on tests: panva/oidc-provider (MIT), in memory, on a loopback
// port. Its development sign-in pages take any user name (the password is not checked) and show a consent page.
// Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [ID_TOKEN_TTL_S]
// Claims: email = <login>; groups = the part of the login before '@' split on '+' (ana+editors@x -> ["ana", "editors"]).
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri, ttl = '600'] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUri.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, groups: id.split('@')[0].split('+') };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  scopes: ['openid', 'email', 'groups', 'offline_access'],
  conformIdTokenClaims: false,  // the ID token carries the claims asked for by scope
  ttl: { IdToken: Number(ttl), AccessToken: Number(ttl), Session: 3600, Interaction: 600, Grant: 3600 },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['opusclip-test-cookie-key'] },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
