"""A corpus of hostile requests against a live, confined `opusclip serve` shared by two organisations: path traversal
over every protocol, odd and oversize names, SQL meta-characters in filters, markup in titles, forged, expired and
revoked tokens. Each is refused with a clear 4xx problem (or, for a filter, answered with nothing of another
organisation's), none gets a 5xx, no job is queued, and nothing is written outside the root."""
import json, os, shutil, signal
import httpx, pytest
from conftest import DEMO
from opusclip.lab.api_load import start_server
from opusclip.run.catalog import Catalog
from opusclip.run.identity import Identity


def tree(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob('*'))


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    top = tmp_path_factory.mktemp('hostile')
    outside, root = top / 'outside', top / 'root'
    outside.mkdir(); root.mkdir()
    shutil.copy(DEMO, outside / 'secret.mp4')
    os.symlink(outside / 'secret.mp4', root / 'link.mp4')              # a link out of the root
    cat = Catalog(str(root / 'opusclip.duckdb'))
    with cat.connect() as con:
        for o in ('acme', 'globex'):
            con.execute("INSERT INTO clips (clip_id, video_id, rank, score, title, created_at, org) "
                        "VALUES (?, ?, 1, 80, ?, now(), ?)", [f'c-{o}', f'v-{o}', f'plans of {o}', o])
    cat.snapshot()
    ids, tok = Identity(cat.path), {}
    for o in ('acme', 'globex'):
        ids.add_org(o); ids.add_user(f'ed@{o}', 'a long enough password'); ids.set_member(o, f'ed@{o}', 'editor')
        tok[o] = ids.create_token(o, f'ed@{o}', 'write')[1]
    row, revoked = ids.create_token('acme', 'ed@acme', 'write'); ids.revoke_token(row['token_id'])
    row, expired = ids.create_token('acme', 'ed@acme', 'write')
    with ids.connect() as con:
        con.execute("UPDATE tokens SET expires_at = now() - INTERVAL 1 MINUTE WHERE token_id = ?", [row['token_id']])
    before = tree(outside)
    proc, base = start_server(root, args=('--root', root))
    yield dict(base=base, tok=tok, revoked=revoked, expired=expired, root=root, outside=outside, before=before, cat=cat)
    proc.send_signal(signal.SIGINT); proc.wait(timeout=60)


E = '/etc/passwd'
TRAVERSAL = [                                                          # video URIs a client may send
    E, '../../etc/passwd', '../outside/secret.mp4', 'file:///etc/passwd', 'file://localhost/etc/passwd', f'file:{E}',
    'local:///etc/passwd', 'local://etc/passwd', 'simplecache::file:///etc/passwd', 'filecache::/etc/passwd',
    'blockcache::local:///etc/passwd', 'zip://x::file:///etc/passwd', 'tar://x::file:///etc/passwd',
    'dir::file:///etc', 'reference://x', 'memory://secret.mp4', 'http://127.0.0.1:9/x.mp4', 'ftp://127.0.0.1/x.mp4',
    'sftp://127.0.0.1/x.mp4', 'ssh://127.0.0.1/x.mp4', 'hdfs://127.0.0.1/x.mp4', 'github://o:r@main/x.mp4',
    'data:video/mp4;base64,AAAA', 'jar:file:///x!/y', '\\\\server\\share\\x.mp4', 'C:\\Windows\\win.ini',
    '/proc/self/environ', '/dev/zero', 'link.mp4', '{root}/link.mp4', '{root}/../outside/secret.mp4',
    'file://{root}/../outside/secret.mp4', 'x.mp4\x00.txt', 'x\nmp4', 'a' * 300 + '.mp4', ('a/' * 2100) + 'x.mp4',
]
UPLOAD_NAMES = [b'evil\x00.mp4', b'evil\x1b[2J.mp4', b'evil\r\n.mp4', b'b' * 300 + b'.mp4', b'notes.txt',
                b'../../../outside/evil.mp4', b'..\\..\\evil.mp4', b'....mp4.exe', b'', b'\xff\xfe.mp4']
FILTERS = [                                                            # SQL meta-characters in every filter
    "/v1/jobs?state=' OR 1=1 --", "/v1/jobs?state=queued'; DROP TABLE jobs; --", "/v1/clips?video_id=' OR '1'='1",
    "/v1/clips?video_id=v-globex' UNION SELECT * FROM clips --", "/v1/clips?cursor=' OR 1=1", "/v1/clips?limit=-1",
    "/v1/clips?limit=1e9", "/v1/jobs?cursor=eyJ4IjoiJyBPUiAxPTEifQ", "/v1/analytics/summary?by=channel;DROP TABLE x",
    "/v1/analytics/forecasts?series=' OR 1=1 --", "/v1/clips/c-globex' OR '1'='1", "/v1/clips/%27%20OR%201%3D1",
    "/v1/analytics/recommendations?min_posts=1;--",
]


def problem(r):
    assert r.headers.get('content-type', '').startswith('application/problem+json'), (r.status_code, r.text[:200])
    body = r.json()
    assert body['status'] == r.status_code and body['detail'] and '\n' not in body['detail'] and 'Traceback' not in r.text
    return body['detail']


def test_the_hostile_corpus(site):
    b, root = site['base'], str(site['root'])
    h = {'Authorization': f"Bearer {site['tok']['acme']}"}
    n = 0
    for uri in TRAVERSAL:
        r = httpx.post(b + '/v1/jobs', headers=h, json={'uri': uri.format(root=root)})
        assert 400 <= r.status_code < 500, (uri, r.status_code, r.text[:300])
        problem(r); n += 1
    for name in UPLOAD_NAMES:                                          # the bytes as sent, not as a client escapes them
        body = (b'--B0UND\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
                b'Content-Type: video/mp4\r\n\r\n' + DEMO.read_bytes()[:20000] + b'\r\n--B0UND--\r\n')
        r = httpx.post(b + '/v1/jobs', headers={**h, 'Content-Type': 'multipart/form-data; boundary=B0UND'}, content=body)
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
        problem(r); n += 1
    for path in FILTERS:
        r = httpx.get(b + path, headers=h)
        assert r.status_code < 500 and 'plans of globex' not in r.text, (path, r.status_code, r.text[:300])
        if r.status_code >= 400:
            problem(r)
        n += 1
    for key in ('k' * 201, 'x\x00y'):                                  # odd Idempotency-Keys
        try:
            r = httpx.post(b + '/v1/jobs', headers={**h, 'Idempotency-Key': key}, json={'uri': 'link.mp4'})
            assert 400 <= r.status_code < 500, (key[:10], r.status_code)
        except httpx.LocalProtocolError:
            pass                                                       # the client itself will not send a NUL
        n += 1
    for tok in ('null', 'Bearer', site['tok']['acme'][:-4] + 'AAAA', site['revoked'], site['expired'], "' OR 1=1 --",
                'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', 'x' * 5000):
        r = httpx.get(b + '/v1/clips', headers={'Authorization': f'Bearer {tok}'})
        assert r.status_code == 401, (tok[:20], r.status_code); problem(r); n += 1
    xss = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    r = httpx.post(b + '/v1/clips/c-acme/review', headers=h, json={'action': 'edit', 'title': xss, 'note': xss})
    assert r.status_code == 200 and r.headers['content-type'].startswith('application/json')
    assert r.headers['x-content-type-options'] == 'nosniff' and "default-src 'none'" in r.headers['content-security-policy']
    n += 1
    assert n >= 50, n
    jobs = httpx.get(b + '/v1/jobs', headers=h).json()['items']
    assert jobs == [], jobs                                            # nothing was queued
    assert tree(site['outside']) == site['before']                    # nothing written outside the root
    assert not (site['root'] / 'home' / 'uploads').exists() or not any((site['root'] / 'home' / 'uploads').iterdir())
