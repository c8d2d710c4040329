"""Object stores for real: a local S3 server (moto in server mode, started here on a loopback port) with s3fs. Input
from a bucket, clips, clips.json and the stage cache to buckets; the second run takes its stages from the cached
results on the bucket"""
import json, os, signal, subprocess, sys, time
import httpx, pytest
from conftest import DEMO, FAST, ROOT, query
from opusclip.lab.api_load import free_port
from test_dashboards import CHROMIUM, chrome  # noqa: F401 (fixture)

pytest.importorskip('s3fs', reason='the S3 tests need s3fs and moto[server] (bash .ci/install --dev installs them)')
pytest.importorskip('moto', reason='the S3 tests need moto[server] (bash .ci/install --dev installs it)')
CREDS = dict(AWS_ACCESS_KEY_ID='opusclip-test', AWS_SECRET_ACCESS_KEY='opusclip-test', AWS_DEFAULT_REGION='us-east-1')


@pytest.fixture(scope='module')
def s3(tmp_path_factory):
    "moto's S3 server on a free loopback port; its endpoint, and s3fs on it with the buckets media-in, clips-out and stage-cache"
    import s3fs
    port, log = free_port(), open(tmp_path_factory.mktemp('moto') / 'moto.log', 'w')
    p = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p', str(port)],
                         stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **CREDS))
    url = f'http://127.0.0.1:{port}'
    for _ in range(150):
        try:
            httpx.get(url, timeout=2); break
        except httpx.HTTPError:
            assert p.poll() is None, 'moto server did not start'
            time.sleep(0.2)
    fs = s3fs.S3FileSystem(key=CREDS['AWS_ACCESS_KEY_ID'], secret=CREDS['AWS_SECRET_ACCESS_KEY'], endpoint_url=url)
    for b in ('media-in', 'clips-out', 'stage-cache'):
        fs.mkdir(b)
    fs.put_file(str(DEMO), 'media-in/talk.mp4')
    yield dict(url=url, fs=fs)
    p.send_signal(signal.SIGTERM); p.wait(timeout=30); log.close()


def test_clip_from_bucket_to_bucket_with_the_cache_on_a_bucket(cli, s3, tmp_path):
    cat = str(tmp_path / 'c.duckdb')
    common = ['--cache', 's3://stage-cache/stages', '--catalog', cat, '--storage-option', f"endpoint_url={s3['url']}", *FAST]
    for out in ('s3://clips-out/first', 's3://clips-out/second'):
        r = cli('clip', 's3://media-in/talk.mp4', '-o', out, *common, env=CREDS)
        assert r.returncode == 0, r.stderr[-2000:]
    fs = s3['fs']
    fs.invalidate_cache()
    for run in ('first', 'second'):
        doc = json.loads(fs.cat_file(f'clips-out/{run}/clips.json'))
        assert doc['clips'] and all(fs.exists(f"clips-out/{run}/{f}") for c in doc['clips'] for f in c['files'].values())
    assert fs.find('stage-cache/stages'), 'nothing cached on the bucket'
    stages = [json.loads(s) for (s,) in query(cat, "SELECT stages FROM runs ORDER BY started_at")]
    assert stages[0]['transcribe'].get('cached') is False and stages[1]['transcribe']['cached'] is True, stages
    rows = query(cat, "SELECT video_uri FROM clips")
    assert rows and all(u.startswith('s3://clips-out/') for (u,) in rows), rows
    s3['catalog'] = cat


def test_review_export_to_a_bucket(s3, monkeypatch):
    "Approved clips (on the bucket) exported to another prefix of a bucket, twice: the same files, nothing doubled"
    from opusclip.apps.feedback import Feedback, export_approved
    from opusclip.apps.store import Reader
    for k, v in CREDS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv('OPUSCLIP_STORAGE_OPTIONS', json.dumps({'endpoint_url': s3['url']}))
    cat = s3['catalog']
    clip_id, video_id, uri = query(cat, "SELECT clip_id, video_id, video_uri FROM clips ORDER BY created_at LIMIT 1")[0]
    fb = Feedback(cat)
    try:
        fb.record(clip_id, video_id, 'approve', 'ana', title='A reviewed title')
        for _ in range(2):
            r = export_approved(Reader(cat), fb, 's3://clips-out/approved')
    finally:
        fb.close()
    fs = s3['fs']; fs.invalidate_cache()
    got = [p for p in fs.find('clips-out/approved') if p.endswith('.mp4')]
    assert r['clips'] == 1 and len(got) == 1 and fs.cat_file(got[0]) == fs.cat_file(uri[len('s3://'):]), (r, got)
    assert b'A reviewed title' in fs.cat_file('clips-out/approved/approved.csv')


def test_batch_over_a_prefix(cli, s3, pieces, tmp_path):
    "opusclip batch on every video under a bucket prefix, clips to a bucket: one job each, all succeed"
    fs = s3['fs']
    for k in range(2):
        fs.put_file(str(pieces / f'talk{k}.mp4'), f'media-in/batch/talk{k}.mp4')
    cat = str(tmp_path / 'c.duckdb')
    r = cli('batch', 's3://media-in/batch/', '-o', 's3://clips-out/batch', '--runs', tmp_path / 'runs', '--catalog', cat,
            '--workers', '1', '--storage-option', f"endpoint_url={s3['url']}", *FAST, env=CREDS)
    assert r.returncode == 0 and '2 succeeded' in r.stderr, r.stderr[-2000:]
    fs.invalidate_cache()
    assert sorted(p.rsplit('/', 2)[-2] for p in fs.find('clips-out/batch') if p.endswith('clips.json')) == ['talk0', 'talk1']
    assert query(cat, "SELECT count(*) FROM jobs WHERE state = 'succeeded'") == [(2,)]
    s3['batch_catalog'] = cat


def test_watch_a_bucket_prefix_runs_each_new_file_once(cli, s3, pieces, tmp_path):
    "opusclip watch --once on a bucket prefix, twice, with a file added in between: each file is run once"
    fs, cat = s3['fs'], str(tmp_path / 'c.duckdb')
    args = ['watch', 's3://media-in/watch/', '--once', '-o', 's3://clips-out/watch', '--runs', tmp_path / 'runs',
            '--catalog', cat, '--workers', '1', '--storage-option', f"endpoint_url={s3['url']}", *FAST]
    fs.put_file(str(pieces / 'talk2.mp4'), 'media-in/watch/talk2.mp4')
    r = cli(*args, env=CREDS)
    assert r.returncode == 0, r.stderr[-2000:]
    fs.put_file(str(pieces / 'talk3.mp4'), 'media-in/watch/talk3.mp4')
    r = cli(*args, env=CREDS)
    assert r.returncode == 0, r.stderr[-2000:]
    ran = query(cat, "SELECT regexp_extract(source_uri, '[^/]+$'), state FROM jobs ORDER BY queued_at")
    assert ran == [('talk2.mp4', 'succeeded'), ('talk3.mp4', 'succeeded')], ran
    fs.invalidate_cache()
    assert sorted(p.rsplit('/', 2)[-2] for p in fs.find('clips-out/watch') if p.endswith('clips.json')) == ['talk2', 'talk3']


def _clips(cat):
    return sorted(query(cat, "SELECT regexp_extract(v.uri, '[^/]+$'), c.start_s, c.end_s, round(c.score, 3), c.title "
                             "FROM clips c JOIN videos v USING (video_id)"))


def test_dask_workers_in_their_own_folders_on_s3_equal_a_local_run(cli, s3, tmp_path):
    """A Dask scheduler and two workers as separate processes, each in its own folder (home, scratch, working folder)
    with no storage settings or credentials of its own: the jobs carry them. Input, clips, executed notebooks and the
    stage cache are on the S3 server; the clips equal the local pool's (the test above); no credential is written"""
    from distributed import Client
    assert 'batch_catalog' in s3, 'runs after test_batch_over_a_prefix'
    addr, procs = f'tcp://127.0.0.1:{free_port()}', []
    clean = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'OPUSCLIP_'))}
    procs.append(subprocess.Popen([sys.executable, '-m', 'distributed.cli.dask_scheduler', '--host', '127.0.0.1',
                                   '--port', addr.rsplit(':', 1)[1], '--no-dashboard'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean))
    for k in range(2):
        home = tmp_path / f'worker{k}'
        (home / 'tmp').mkdir(parents=True)
        env = dict(clean, HOME=str(home), TMPDIR=str(home / 'tmp'))
        procs.append(subprocess.Popen([sys.executable, '-m', 'distributed.cli.dask_worker', addr, '--nthreads', '1',
                                       '--no-dashboard', '--host', '127.0.0.1', '--local-directory', str(home / 'dask'),
                                       '--name', f'w{k}'], cwd=home, env=env,
                                      stdout=subprocess.DEVNULL, stderr=open(home / 'worker.log', 'w')))
    secret, cat = 'dask-secret-value', str(tmp_path / 'c.duckdb')
    opts = [f"endpoint_url={s3['url']}", 'key=dask-key', f'secret={secret}']
    try:
        with Client(addr, timeout='60s') as c:
            c.wait_for_workers(2, timeout=120)
            pids = set(c.run(os.getpid).values())
        r = cli('batch', 's3://media-in/batch/', '--scheduler', addr, '-o', 's3://clips-out/dask', '--runs',
                's3://clips-out/runs', '--cache', 's3://stage-cache/dask', '--catalog', cat,
                *[a for o in opts for a in ('--storage-option', o)], *FAST, cwd=tmp_path)
    finally:
        for p in procs[::-1]:
            p.send_signal(signal.SIGTERM); p.wait(timeout=60)
    assert r.returncode == 0 and '2 succeeded' in r.stderr, r.stderr[-3000:]
    workers = query(cat, "SELECT worker FROM jobs")
    assert len(workers) == 2 and all(int(w.split(':')[1]) in pids for (w,) in workers), (workers, pids)
    assert _clips(cat) == _clips(s3['batch_catalog']) and len(_clips(cat)) == 2, (_clips(cat), _clips(s3['batch_catalog']))
    fs = s3['fs']; fs.invalidate_cache()
    nbs = [p for p in fs.find('clips-out/runs') if p.endswith('.ipynb')]
    assert len(nbs) == 2 and fs.find('stage-cache/dask'), nbs
    assert all(secret not in fs.cat_file(p).decode() for p in nbs)     # the credential travelled, but was not written
    for k in range(2):                                                  # each job's scratch folder went with it
        assert not list((tmp_path / f'worker{k}' / 'tmp').glob('opusclip-job-*'))


def test_api_media_of_a_clip_on_a_bucket_is_a_signed_link(s3, tmp_path):
    "The API answers a clip on S3 with a 307 to a presigned URL, which a player (here httpx) fetches from the store"
    import shutil, signal as sig
    from opusclip.lab.api_load import start_server
    from opusclip.run.catalog import Catalog
    shutil.copy(s3['catalog'], tmp_path / 'opusclip.duckdb')
    Catalog(str(tmp_path / 'opusclip.duckdb')).snapshot()
    env = dict(CREDS, OPUSCLIP_STORAGE_OPTIONS=json.dumps({'endpoint_url': s3['url']}))
    proc, base = start_server(tmp_path, env=env)
    try:
        clip = httpx.get(base + '/v1/clips').json()['items'][0]
        r = httpx.get(base + f"/v1/clips/{clip['clip_id']}/media")
        assert r.status_code == 307 and r.headers['location'].startswith(s3['url']), (r.status_code, r.text[:300])
        assert 'Signature' in r.headers['location'] or 'X-Amz-Signature' in r.headers['location']
        got = httpx.get(r.headers['location'])
        assert got.status_code == 200 and got.content == s3['fs'].cat_file(clip['video_uri'][len('s3://'):])
    finally:
        proc.send_signal(sig.SIGINT); proc.wait(timeout=60)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs the Debian chromium package (bash .ci/install --dev)')
def test_review_page_plays_a_clip_on_a_bucket(s3, chrome, tmp_path):
    "The review dashboard, in Chromium, plays a clip that lives on the S3 server: its <video> loads from a presigned URL"
    import shutil
    from test_dashboards import served
    from opusclip.run.catalog import Catalog
    cat = str(tmp_path / 'opusclip.duckdb')
    shutil.copy(s3['catalog'], cat)
    Catalog(cat).snapshot()
    env = dict(CREDS, OPUSCLIP_STORAGE_OPTIONS=json.dumps({'endpoint_url': s3['url']}))
    with served(cat, 'review', env=env) as url:
        page = chrome.new_page(viewport={'width': 1400, 'height': 1800})
        page.goto(url + '/review')
        video = page.locator('.clip-card video').first
        video.wait_for(state='attached', timeout=60000)
        page.wait_for_function('v => v.readyState >= 2 && v.duration > 0', arg=video.element_handle(), timeout=60000)
        src, duration = video.evaluate('v => [v.currentSrc, v.duration]')
    assert src.startswith(s3['url']) and 'Signature' in src, src
    assert 3 <= duration <= 14, duration                               # a FAST clip: 3 to 13 s


AZURITE = ROOT / 'tests' / 'azurite' / 'node_modules' / '.bin' / 'azurite-blob'
AZ_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='  # Azurite's well-known dev key


def serve(cmd, url, log, env=None):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
    for _ in range(200):
        try:
            httpx.get(url, timeout=2); return p
        except httpx.HTTPError:
            assert p.poll() is None, f'{cmd[0]} did not start'
            time.sleep(0.2)
    raise AssertionError(f'{cmd[0]} did not answer')


@pytest.fixture(scope='module', params=['gcs', 'azure'])
def store(request, tmp_path_factory):
    "Google Cloud Storage (gcp-storage-emulator, PyPI) or Azure Blob (Azurite, npm) on a loopback port: its URI scheme, env, fs"
    import fsspec
    port, log = free_port(), open(tmp_path_factory.mktemp(request.param) / 'server.log', 'w')
    url = f'http://127.0.0.1:{port}'
    if request.param == 'gcs':
        os.environ['GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT'] = 'false'         # read when gcsfs is imported: plain GCS, no gRPC
        pytest.importorskip('gcsfs', reason='the GCS test needs gcsfs and gcp-storage-emulator (bash .ci/install --dev)')
        p = serve([sys.executable, '-m', 'gcp_storage_emulator', 'start', '--host', '127.0.0.1', '--port', str(port),
                   '--in-memory'], url, log)
        env = dict(STORAGE_EMULATOR_HOST=url, GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT='false')
        opts, scheme = ['gs.token=anon', 'gs.project=opusclip-test'], 'gs'
        os.environ.update(env)
        fs = fsspec.filesystem('gs', token='anon', project='opusclip-test')
    else:
        pytest.importorskip('adlfs', reason='the Azure test needs adlfs (bash .ci/install --dev)')
        assert AZURITE.exists(), 'run bash .ci/install --dev (it installs Azurite from npm)'
        p = serve([str(AZURITE), '--blobHost', '127.0.0.1', '--blobPort', str(port), '--inMemoryPersistence',
                   '--skipApiVersionCheck', '--silent'], url, log)
        env = dict(AZURE_STORAGE_CONNECTION_STRING=f'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;'
                   f'AccountKey={AZ_KEY};BlobEndpoint={url}/devstoreaccount1;')
        opts, scheme = [], 'az'
        fs = fsspec.filesystem('az', connection_string=env['AZURE_STORAGE_CONNECTION_STRING'])
    for b in ('media-in', 'clips-out', 'stage-cache'):
        fs.mkdir(b)
    from opusclip.media.cut import encode_segment                      # 15 s of the demo: these emulators are slow
    piece = tmp_path_factory.mktemp('piece') / 'talk.mp4'
    encode_segment(str(DEMO), 2.0, 17.0, str(piece), preset='ultrafast', max_height=240)
    fs.put_file(str(piece), 'media-in/talk.mp4')
    yield dict(scheme=scheme, env=env, opts=opts, fs=fs)
    for k in env:
        os.environ.pop(k, None)
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=3)
    except subprocess.TimeoutExpired:                                  # Azurite keeps going: it holds nothing worth a wait
        p.kill(); p.wait()
    log.close()


def test_clip_bucket_to_bucket_on_gcs_and_azure(cli, store, tmp_path):
    "The S3 round trip on Google Cloud Storage and Azure Blob: clips land, the second run takes the cached transcript"
    s, cat = store['scheme'], str(tmp_path / 'c.duckdb')
    common = ['--cache', f'{s}://stage-cache/stages', '--catalog', cat, *[a for o in store['opts'] for a in ('--storage-option', o)], *FAST]
    for run in ('first', 'second'):
        r = cli('clip', f'{s}://media-in/talk.mp4', '-o', f'{s}://clips-out/{run}', *common, env=store['env'])
        assert r.returncode == 0, r.stderr[-2000:]
    fs = store['fs']; fs.invalidate_cache()
    doc = json.loads(fs.cat_file('clips-out/second/clips.json'))
    assert doc['clips'] and all(fs.exists(f"clips-out/second/{f}") for c in doc['clips'] for f in c['files'].values())
    stages = [json.loads(x) for (x,) in query(cat, "SELECT stages FROM runs ORDER BY started_at")]
    assert stages[0]['transcribe'].get('cached') is False and stages[1]['transcribe']['cached'] is True, stages


def test_a_store_killed_mid_upload_fails_cleanly(tmp_path, monkeypatch):
    "The S3 server dies while a 300 MB file is being uploaded: s3fs retries, then the copy fails in one line, in bounded time"
    import threading
    from opusclip.apps.feedback import place_file
    from opusclip.core.basics import StorageError
    from opusclip.lab.store_bench import _moto
    port = free_port()
    server = _moto(port, CREDS)
    for k, v in CREDS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv('OPUSCLIP_STORAGE_OPTIONS', json.dumps({'endpoint_url': f'http://127.0.0.1:{port}'}))
    from opusclip.media.storage import get_fs
    get_fs('s3://doomed/', write=True)[0].mkdir('doomed')
    big = tmp_path / 'big.mp4'
    with open(big, 'wb') as f:
        for _ in range(300):
            f.write(os.urandom(1 << 20))
    threading.Timer(1.0, server.kill).start()                         # mid-upload
    t = time.time()
    with pytest.raises(StorageError) as e:
        place_file(str(big), 's3://doomed/up', 'clip')
    server.wait()
    assert 'copying' in str(e.value) and '\n' not in str(e.value) and time.time() - t < 120, str(e.value)
