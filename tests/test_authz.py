"""Who may do what over HTTP: a live `opusclip serve` on a catalog shared by two organisations, every route walked
with a token of each role of each organisation, against its own organisation's objects and the other's"""
import json, shutil, signal, time
import httpx, pytest
from PIL import Image
from conftest import DEMO
from opusclip.lab.api_load import start_server
from opusclip.run.catalog import Catalog
from opusclip.run.identity import ROLES, Identity

ORGS = ('acme', 'globex')

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp('authz')
    cat = Catalog(str(d / 'opusclip.duckdb'))
    with cat.connect() as con:
        for o in ORGS:
            media, thumb = d / f'{o}-clip.mp4', d / f'{o}-clip.jpg'
            shutil.copy(DEMO, media); Image.new('RGB', (90, 160), 'gray').save(thumb)
            con.execute("INSERT INTO videos (video_id, uri) VALUES (?, ?)", [f'v-{o}', f'/{o}/talk.mp4'])
            con.execute("INSERT INTO jobs (job_id, batch_id, seq, source_uri, output_uri, params, state, attempts, "
                        "max_attempts, queued_at, org) VALUES (?, 'serve', 0, ?, ?, '{}', 'succeeded', 1, 1, now(), ?)",
                        [f'j-{o}', f'/{o}/talk.mp4', str(d / o), o])
            con.execute("INSERT INTO runs (run_id, job_id, video_id, input_uri, status, started_at, org) "
                        "VALUES (?, ?, ?, ?, 'succeeded', now(), ?)", [f'r-{o}', f'j-{o}', f'v-{o}', f'/{o}/talk.mp4', o])
            con.execute("INSERT INTO clips (clip_id, run_id, video_id, rank, score, title, video_uri, thumbnail_uri, "
                        "created_at, org) VALUES (?, ?, ?, 1, 80, ?, ?, ?, now(), ?)",
                        [f'c-{o}', f'r-{o}', f'v-{o}', f'secret plans of {o}', str(media), str(thumb), o])
    cat.snapshot()
    ids, tokens = Identity(cat.path), {}
    for o in ORGS:
        ids.add_org(o)
        for role in ROLES:
            ids.add_user(f'{role}@{o}', f'{role} of {o} passphrase')
            ids.set_member(o, f'{role}@{o}', role)
            tokens[o, role] = ids.create_token(o, f'{role}@{o}', 'admin')[1]
    proc, base = start_server(d, args=('--root', str(d)))
    yield dict(base=base, tokens=tokens, ids=ids, dir=d)
    proc.send_signal(signal.SIGINT); proc.wait(timeout=60)

# (method, path with {o} for the organisation whose object it names, the least role, body)
ROUTES = [
    ('GET', '/v1/jobs', 'viewer', None), ('GET', '/v1/jobs/j-{o}', 'viewer', None),
    ('GET', '/v1/jobs/j-{o}/progress', 'viewer', None), ('GET', '/v1/jobs/j-{o}/events', 'viewer', None),
    ('GET', '/v1/clips', 'viewer', None), ('GET', '/v1/clips/c-{o}', 'viewer', None),
    ('GET', '/v1/clips/c-{o}/media', 'viewer', None), ('GET', '/v1/clips/c-{o}/thumbnail', 'viewer', None),
    ('GET', '/v1/videos', 'viewer', None), ('GET', '/v1/videos/v-{o}', 'viewer', None),
    ('GET', '/v1/analytics/summary', 'viewer', None), ('GET', '/v1/analytics/forecasts', 'viewer', None),
    ('GET', '/v1/analytics/recommendations', 'viewer', None), ('GET', '/v1/workflows', 'viewer', None),
    ('GET', '/v1/workflows/runs', 'viewer', None), ('GET', '/v1/alerts', 'viewer', None),
    ('GET', '/metrics', 'viewer', None), ('GET', '/v1/auth/me', 'viewer', None), ('GET', '/v1/usage', 'viewer', None),
    ('POST', '/v1/clips/c-{o}/review', 'reviewer', {'action': 'star'}),
    ('POST', '/v1/jobs/j-{o}/cancel', 'editor', None), ('POST', '/v1/jobs/j-{o}/retry', 'editor', None),
    ('POST', '/v1/jobs', 'editor', {'uri': 'x.mp4', 'options': {'clips': 'many'}}),
    ('POST', '/v1/engagement', 'editor', None),
]

def call(base, method, path, token=None, body=None):
    h = {'Authorization': f'Bearer {token}'} if token else {}
    with httpx.stream(method, base + path, headers=h, json=body, timeout=60) as r:
        if 'text/event-stream' in r.headers.get('content-type', ''):
            first = next(r.iter_lines(), '')                     # the first event, then hang up
            return r.status_code, first
        r.read()
        return r.status_code, r.text

def test_every_route_by_role_and_organisation(site):
    allowed = denied = 0
    for o in ORGS:
        other = ORGS[1 - ORGS.index(o)]
        for role in ROLES:
            tok = site['tokens'][o, role]
            for method, path, least, body in ROUTES:
                code, text = call(site['base'], method, path.format(o=o), tok, body)
                if ROLES.index(role) >= ROLES.index(least):
                    assert code not in (401, 403, 404, 500), (o, role, method, path, code, text[:300])
                    allowed += 1
                    assert other not in text, (o, role, path, text[:300])   # no word of the other organisation
                else:
                    assert code == 403 and f'needs the {least} role' in text, (o, role, path, code, text[:300])
                    denied += 1
                if '{o}' in path:                                          # the same route on the other's object
                    code, text = call(site['base'], method, path.format(o=other), tok, body)
                    assert code in (403, 404), (o, role, method, path, other, code, text[:300])
    cells = [ROLES.index(r) >= ROLES.index(least) for r in ROLES for *_, least, _ in ROUTES]
    assert (allowed, denied) == (2 * sum(cells), 2 * (len(cells) - sum(cells)))

def test_signed_media_links_open_one_file_of_one_organisation(site):
    b, tok = site['base'], site['tokens']['acme', 'viewer']
    clip = httpx.get(b + '/v1/clips/c-acme', headers={'Authorization': f'Bearer {tok}'}).json()
    link = clip['links']['media']
    r = httpx.get(b + link, headers={'Range': 'bytes=0-99'})               # no token: a <video> element
    assert r.status_code == 206 and r.content == DEMO.read_bytes()[:100]
    assert httpx.get(b + link.replace('c-acme', 'c-globex')).status_code == 401
    assert httpx.get(b + link.replace('org=acme', 'org=globex')).status_code == 401
    assert httpx.get(b + '/v1/clips/c-acme/media').status_code == 401

@pytest.mark.parametrize('how', ['none', 'forged', 'revoked', 'expired', 'garbage'])
def test_bad_tokens_are_401(site, how):
    ids, b = site['ids'], site['base']
    tok = {'none': None, 'garbage': "' OR 1=1 --", 'forged': site['tokens']['acme', 'admin'][:-6] + 'AAAAAA'}.get(how)
    if how in ('revoked', 'expired'):
        row, tok = ids.create_token('acme', 'admin@acme', 'read')
        if how == 'revoked':
            ids.revoke_token(row['token_id'])
        else:
            with ids.connect() as con:
                con.execute("UPDATE tokens SET expires_at = now() - INTERVAL 1 SECOND WHERE token_id = ?", [row['token_id']])
    code, text = call(b, 'GET', '/v1/clips', tok)
    assert code == 401 and json.loads(text)['status'] == 401 and 'c-acme' not in text

def test_sign_in_locks_out_and_is_audited(site):
    b, ids = site['base'], site['ids']
    ok = httpx.post(b + '/v1/auth/login', json={'user': 'viewer@globex', 'password': 'viewer of globex passphrase'})
    assert ok.status_code == 200 and ok.json()['role'] == 'viewer'
    me = httpx.get(b + '/v1/auth/me', headers={'Authorization': f"Bearer {ok.json()['token']}"}).json()
    assert (me['user'], me['org']) == ('viewer@globex', 'globex')
    codes = [httpx.post(b + '/v1/auth/login', json={'user': 'editor@globex', 'password': f'guess {i}'}).status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]
    r = httpx.post(b + '/v1/auth/login', json={'user': 'editor@globex', 'password': 'editor of globex passphrase'})
    assert r.status_code == 429 and int(r.headers['Retry-After']) > 0      # locked: even the right password waits
    rows = ids.rows("SELECT outcome FROM audit WHERE action = 'login' AND object = 'editor@globex' ORDER BY seq")
    assert [x['outcome'] for x in rows] == ['failed'] * 5

def test_security_headers(site):
    r = httpx.get(site['base'] + '/v1/health')
    assert r.headers['x-content-type-options'] == 'nosniff' and r.headers['x-frame-options'] == 'DENY'
    assert "default-src 'none'" in r.headers['content-security-policy']

def test_quotas_refuse_the_job_over_the_limit(site):
    "An organisation at its limit gets 429 naming the limit and when it resets; nothing is queued or uploaded"
    b, ids, d = site['base'], site['ids'], site['dir']
    shutil.copy(DEMO, d / 'talk.mp4')
    h = {'Authorization': f"Bearer {site['tokens']['acme', 'editor']}"}
    jobs = lambda: httpx.get(b + '/v1/jobs', headers=h).json()['items']
    before = len(jobs())
    try:
        ids.set_quota('acme', max_jobs=0)
        u = httpx.get(b + '/v1/usage', headers=h).json()
        assert (u['org'], u['active_jobs'], u['max_jobs'], u['max_minutes']) == ('acme', 0, 0, None), u
        r = httpx.post(b + '/v1/jobs', headers=h, json={'uri': str(d / 'talk.mp4')})
        assert r.status_code == 429 and 'at its limit of 0 concurrent jobs' in r.json()['detail'], r.text
        ids.set_quota('acme', max_minutes=0)
        with open(DEMO, 'rb') as f:
            r = httpx.post(b + '/v1/jobs', headers=h, files={'file': ('talk.mp4', f, 'video/mp4')})
        assert r.status_code == 429, r.text
        assert 'used 0 of its 0 minutes this month; the limit resets on' in r.json()['detail']
        assert int(r.headers['Retry-After']) > 0
        assert not (d / 'uploads').exists() or not any((d / 'uploads').iterdir())   # the upload was not kept
        r = httpx.post(b + '/v1/jobs', headers={'Authorization': f"Bearer {site['tokens']['globex', 'editor']}"},
                       json={'uri': str(d / 'talk.mp4'), 'options': {'clips': 'x'}})
        assert r.status_code == 422, r.text          # another organisation's limits do not apply: it gets as far as its options
        assert len(jobs()) == before
    finally:
        ids.set_quota('acme')
