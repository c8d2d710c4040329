"""Members signing in to the dashboards and the API: passwords from the identity file, and single sign-on through a real
OpenID Connect provider (panva/oidc-provider, started by the test on a loopback port), in the system Chromium.
Each member sees only their organisation's rows, can do only what their role allows, and leaves one audit row per
action; user text is shown, never run."""
import base64, json, os, shutil, signal, subprocess, time
import httpx, pytest
from conftest import ROOT, query
from test_dashboards import CHROMIUM, chrome, served  # noqa: F401 (fixtures)
from opusclip.lab.api_load import free_port, start_server
from opusclip.lab.dashboard_bench import sample_catalog
from opusclip.run.identity import Identity
from opusclip.run.oidc import OIDCConfig, Provider, pkce_pair

PROVIDER = ROOT / 'tests' / 'oidc_provider'
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & [link](javascript:alert(1))'
SECRET, TTL = 'a client secret for the tests', 20
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs the Debian chromium package (bash .ci/install --dev installs it)')


@pytest.fixture(scope='module')
def provider(tmp_path_factory):
    "The OpenID Connect provider, with the dashboard's /login and a capture address as its client's redirect URIs"
    assert (PROVIDER / 'node_modules' / 'oidc-provider').is_dir(), 'run bash .ci/install --dev (it installs the provider from npm)'
    port, dash, cap = free_port(), free_port(), free_port()
    redirects = f'http://127.0.0.1:{dash}/login,http://127.0.0.1:{cap}/cb'
    logfile = tmp_path_factory.mktemp('idp') / 'provider.log'
    log = open(logfile, 'w')
    p = subprocess.Popen([shutil.which('node'), 'provider.mjs', str(port), 'opusclip', SECRET, redirects, str(TTL)],
                         cwd=PROVIDER, stdout=log, stderr=subprocess.STDOUT)
    issuer = f'http://127.0.0.1:{port}'
    for _ in range(100):
        try:
            httpx.get(issuer + '/.well-known/openid-configuration', timeout=2).raise_for_status(); break
        except httpx.HTTPError:
            assert p.poll() is None, logfile.read_text()
            time.sleep(0.2)
    yield dict(issuer=issuer, dash_port=dash, capture=f'http://127.0.0.1:{cap}/cb')
    p.send_signal(signal.SIGTERM); p.wait(timeout=20); log.close()


@pytest.fixture(scope='module')
def site(tmp_path_factory, provider):
    "A catalog shared by acme (video v1, one clip titled with markup) and globex (v2); members of each; SSO settings"
    d = tmp_path_factory.mktemp('signin')
    cat = sample_catalog(str(d / 'opusclip.duckdb'))
    with cat.connect() as con:
        for t in ('runs', 'clips'):
            con.execute(f"UPDATE {t} SET org = CASE WHEN video_id = 'v1' THEN 'acme' ELSE 'globex' END")
        con.execute("UPDATE clips SET title = ? WHERE video_id = 'v1' AND rank = 1", [XSS])
    cat.snapshot()
    ids = Identity(cat.path)
    for org in ('acme', 'globex'):
        ids.add_org(org)
    for user, org, role in (('ana', 'acme', 'reviewer'), ('vic', 'acme', 'viewer'), ('gus', 'globex', 'admin')):
        ids.add_user(user, f'{user} has a long password'); ids.set_member(org, user, role)
    cfg = dict(issuer=provider['issuer'], client_id='opusclip', client_secret=SECRET, org='acme',
               role_claim='groups', roles={'editors': 'editor', 'watchers': 'viewer'}, label='Test IdP')
    (d / 'oidc.json').write_text(json.dumps(cfg))
    (d / 'wrong.json').write_text(json.dumps(dict(cfg, client_secret='not the secret')))
    return dict(dir=d, catalog=cat.path, ids=ids, cfg=cfg, **provider)


@pytest.fixture
def dash(site):
    "The dashboards for members, with single sign-on, on the port the provider redirects to (one server per test)"
    with served(site['catalog'], args=['--oidc', str(site['dir'] / 'oidc.json')], port=site['dash_port'],
                cwd=site['dir']) as url:                               # exports land in its approved_clips/
        yield url


def sign_in(page, url, user, password, path='/review'):
    page.goto(url + path)
    page.wait_for_url('**/login**')
    page.fill('input[name="user"]', user); page.fill('input[name="password"]', password)
    page.click('#sign-in')


def text(page, css, timeout=60_000):
    "The text a Panel pane shows (drawn in its shadow root), once it shows some"
    loc = page.locator(f'{css} div').first
    loc.wait_for(timeout=timeout)
    return loc.inner_text()


def audit(ids, sql, params=()):
    return ids.rows(f"SELECT actor, action, object, outcome, detail FROM audit WHERE {sql} ORDER BY seq", params)


def test_members_see_their_organisation_and_do_what_their_role_allows(site, dash, chrome):
    ids, page = site['ids'], chrome.new_page()
    page.on('dialog', lambda d: d.dismiss())
    sign_in(page, dash, 'ana', 'ana has a long password')
    page.wait_for_selector('.clip-card', timeout=120_000)
    assert 'Signed in as ana (acme, reviewer)' in text(page, '.signed-in')
    options = page.eval_on_selector_all('select option', 'os => os.map(o => o.textContent)')
    assert options == ['talk.mp4 (3 clips)'], options                 # globex's interview.mp4 is not there
    assert page.get_by_text('<img src=x onerror=').count() >= 1         # the markup is shown as text ...
    assert page.evaluate('window.__xss') is None                       # ... and never ran
    assert page.locator('.clip-card img[src="x"]').count() == 0
    card = page.locator('.clip-card').first
    card.locator('.review-approve button').click()
    card.get_by_text('Review: approved').wait_for(timeout=30_000)
    assert [r['outcome'] for r in audit(ids, "action = 'login' AND object = 'ana'")] == ['ok']
    assert len(audit(ids, "action = 'review.approve' AND actor = 'ana'")) == 1
    assert page.locator('.export button').is_disabled()                # exporting needs an editor
    page.goto(dash + '/logout'); page.goto(dash + '/review'); page.wait_for_url('**/login**')

    viewer = chrome.new_page()
    sign_in(viewer, dash, 'vic', 'vic has a long password')
    viewer.wait_for_selector('.clip-card', timeout=120_000)
    assert viewer.locator('.review-approve button').first.is_disabled()  # a viewer reads, does not review

    admin = chrome.new_page()
    sign_in(admin, dash, 'gus', 'gus has a long password', path='/monitoring')
    admin.locator('.audit-trail .tabulator-row').first.wait_for(timeout=120_000)
    trail = '\n'.join(admin.locator('.audit-trail .tabulator-row').all_inner_texts())
    assert 'gus' in trail and 'ana' not in trail                      # globex's trail only
    viewer2 = chrome.new_page(); sign_in(viewer2, dash, 'vic', 'vic has a long password', path='/monitoring')
    viewer2.wait_for_selector('.failures', timeout=120_000)
    assert viewer2.locator('.audit-trail').count() == 0                # not an admin: no trail


def test_the_reviewer_is_who_signed_in(site):
    "(read once the server that holds the feedback file has stopped)"
    rows = query(site['catalog'][:-7] + '.feedback.duckdb', "SELECT action, reviewer FROM clip_feedback")
    assert rows == [('approve', 'ana')], rows


def test_wrong_passwords_lock_out_and_the_form_needs_its_xsrf_token(site, dash, chrome):
    page = chrome.new_page()
    for i in range(5):
        sign_in(page, dash, 'vic', f'guess number {i}')
        assert 'wrong user name or password' in page.inner_text('.error')
    sign_in(page, dash, 'vic', 'vic has a long password')              # the right one, too late
    assert 'too many failed sign-ins' in page.inner_text('.error')
    r = httpx.post(dash + '/login', data={'user': 'ana', 'password': 'ana has a long password'})
    assert r.status_code == 403 and 'opusclip_session' not in r.cookies   # no XSRF token: refused


def provider_login(page, login):
    "The provider's own sign-in and consent pages (its development pages take any password)"
    page.wait_for_selector('input[name="login"]', timeout=30_000)
    page.fill('input[name="login"]', login); page.fill('input[name="password"]', 'any')
    page.click('button[type="submit"]')
    page.wait_for_load_state()
    if page.locator('button[type="submit"]').count() and 'consent' in page.content().lower():
        page.click('button[type="submit"]')


def test_single_sign_on_through_a_real_provider(site, dash, chrome):
    ids, page = site['ids'], chrome.new_context().new_page()
    page.goto(dash + '/analytics'); page.wait_for_url('**/login**')
    page.click('#sso')
    provider_login(page, 'cy+editors@idp.test')                        # groups: ["cy", "editors"] -> editor in acme
    page.wait_for_selector('.signed-in', timeout=120_000)
    line = text(page, '.signed-in')
    assert 'Signed in as cy+editors@idp.test (acme, editor)' in line and 'Usage this month' in line, line
    rows = audit(ids, "action = 'login' AND actor = 'cy+editors@idp.test'")
    assert [(r['outcome'], json.loads(r['detail'])['via']) for r in rows] == [('ok', 'oidc')]
    page.goto(dash + '/review')                                        # an editor may export
    page.locator('.export button').click()
    page.get_by_text('Exported').wait_for(timeout=60_000)
    assert [r['object'] for r in audit(ids, "action = 'review.export'")] == ['approved_clips/acme']
    assert (site['dir'] / 'approved_clips' / 'acme').is_dir()

    stranger = chrome.new_context().new_page()                         # no membership, no mapped group: refused
    stranger.goto(dash + '/analytics'); stranger.wait_for_url('**/login**'); stranger.click('#sso')
    provider_login(stranger, 'zed@idp.test')
    stranger.wait_for_selector('.error', timeout=30_000)
    assert 'not a member of an organisation here' in stranger.inner_text('.error')


def test_a_wrong_client_secret_is_refused(site, chrome):
    with served(site['catalog'], 'analytics', args=['--oidc', str(site['dir'] / 'wrong.json')], port=site['dash_port']) as url:
        page = chrome.new_context().new_page()
        page.goto(url + '/analytics'); page.wait_for_url('**/login**'); page.click('#sso')
        provider_login(page, 'cy+editors@idp.test')
        page.wait_for_selector('.error', timeout=30_000)
        assert 'the identity provider refused the sign-in' in page.inner_text('.error')
        assert not [c for c in page.context.cookies() if c['name'] == 'opusclip_session']


def id_token(site, chrome):
    "An ID token from the provider, for a client app (the code caught at the capture address, exchanged here)"
    sso = Provider(OIDCConfig(**site['cfg']))
    verifier, challenge = pkce_pair()
    page, got = chrome.new_context().new_page(), {}
    page.route(site['capture'] + '**', lambda route: (got.update(url=route.request.url), route.fulfill(body='ok')))
    page.goto(sso.authorize_url(site['capture'], 'st', 'nonce-1', challenge))
    provider_login(page, 'ana')
    for _ in range(100):
        if got: break
        page.wait_for_timeout(100)
    code = httpx.URL(got['url']).params['code']
    return sso.exchange(code, site['capture'], verifier)['id_token']


def test_the_api_takes_the_providers_id_tokens_until_they_expire(site, chrome):
    token = id_token(site, chrome)
    made = time.time()
    proc, base = start_server(site['dir'], args=('--oidc', site['dir'] / 'oidc.json'))
    try:
        h = {'Authorization': f'Bearer {token}'}
        me = httpx.get(base + '/v1/auth/me', headers=h).json()
        assert (me['user'], me['org'], me['role']) == ('ana', 'acme', 'reviewer'), me   # her membership's role
        clips = httpx.get(base + '/v1/clips', headers=h).json()['items']
        assert clips and {c['video_id'] for c in clips} == {'v1'}
        head, body, sig = token.split('.')
        claims = json.loads(base64.urlsafe_b64decode(body + '=='))
        forged = base64.urlsafe_b64encode(json.dumps(dict(claims, email='gus')).encode()).rstrip(b'=').decode()
        r = httpx.get(base + '/v1/clips', headers={'Authorization': f'Bearer {head}.{forged}.{sig}'})
        assert r.status_code == 401 and 'not valid' in r.json()['detail']
        time.sleep(max(0, made + TTL + 2 - time.time()))
        r = httpx.get(base + '/v1/clips', headers=h)
        assert r.status_code == 401 and 'expired' in r.json()['detail'], r.text
    finally:
        proc.send_signal(signal.SIGINT); proc.wait(timeout=60)
