"""`opusclip serve` as a real server on a loopback port: the API answers, seeks into clip media, and stops cleanly.

The catalog is a real DuckDB file with one job and one clip whose file is a copy of the bundled demo.
"""
import json, os, shutil, signal, subprocess, time, urllib.error, urllib.request
import pytest
from conftest import DEMO, opusclip_exe
from opusclip.api.client import ApiError, Client
from opusclip.run.catalog import Catalog
from opusclip.lab.api_load import free_port


def get(url, headers=None):
    "Status, headers and body of a GET (errors included)"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp('api')
    cat, media = str(d / 'opusclip.duckdb'), str(d / 'clip-01.mp4')
    shutil.copy(DEMO, media)
    with Catalog(cat).connect() as con:
        con.execute("INSERT INTO jobs (job_id, source_uri, state, queued_at) VALUES ('j1', 'talk.mp4', 'succeeded', now())")
        con.execute(
            "INSERT INTO clips (clip_id, video_id, rank, score, video_uri, created_at) VALUES ('c1', 'v1', 1, 61.5, ?, now())",
            [media],
        )
    port = free_port()
    proc = subprocess.Popen(opusclip_exe() + ['serve', '--catalog', cat, '--port', str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f'http://127.0.0.1:{port}'
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f'opusclip serve exited: {proc.stdout.read()}')
        try:
            if get(base + '/v1/health')[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    yield base, proc, media
    if proc.poll() is None:
        proc.kill()


def test_the_api_lists_and_seeks(server):
    base, _, media = server
    status, _, body = get(base + '/v1/jobs')
    assert status == 200 and [j['job_id'] for j in json.loads(body)['items']] == ['j1']
    status, headers, body = get(base + '/v1/clips/c1/media', {'Range': 'bytes=1000-1999'})
    assert status == 206 and headers['content-range'] == f'bytes 1000-1999/{os.path.getsize(media)}'
    assert body == open(media, 'rb').read()[1000:2000]
    status, headers, body = get(base + '/v1/clips/missing')
    assert (status, headers['content-type'], json.loads(body)['detail']) == (
        404, 'application/problem+json', 'no clip missing in the catalog')
    spec = json.loads(get(base + '/openapi.json')[2])
    assert {'/v1/jobs', '/v1/jobs/{job_id}', '/v1/clips', '/v1/clips/{clip_id}/media'} <= set(spec['paths'])


def test_the_python_client_against_the_server(server, tmp_path):
    base, _, media = server
    api = Client(base)
    assert [c['clip_id'] for c in api.clips()] == ['c1'] and api.job('j1')['state'] == 'succeeded'
    assert open(api.download('c1', str(tmp_path / 'c1.mp4')), 'rb').read() == open(media, 'rb').read()
    with pytest.raises(ApiError, match='404 Not Found: no video v9 in the catalog'):
        api.video('v9')


CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs the Debian chromium package (bash .ci/install --dev installs it)')
def test_a_plain_page_plays_a_clip_from_the_api_and_seeks(server):
    base = server[0]
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox', '--autoplay-policy=no-user-gesture-required'])
        try:
            page = b.new_page()
            page.set_content(f'<video id="v" muted preload="auto" src="{base}/v1/clips/c1/media"></video>')
            got = page.evaluate("""async () => {
                const within = (p) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error('no answer in 60 s')), 60000))]);
                const v = document.getElementById('v');
                if (v.readyState < 1) await within(new Promise((ok, no) => { v.onloadedmetadata = ok; v.onerror = () => no(v.error.message); }));
                const duration = v.duration;
                v.currentTime = 90;                                   // far into the file: only a Range request gets there
                await within(new Promise(ok => { v.onseeked = ok; }));
                await within(v.play());
                await new Promise(ok => setTimeout(ok, 1500));
                v.pause();
                return {duration, time: v.currentTime, ready: v.readyState, error: v.error && v.error.message};
            }""")
        finally:
            b.close()
    assert got['error'] is None and got['duration'] > 120 and got['ready'] >= 2, got
    assert 90.5 < got['time'] < 95, got          # it played on from where it sought



def test_sigterm_stops_the_server(server):
    base, proc, _ = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn shuts down, then re-raises the signal
    with pytest.raises(OSError):
        get(base + '/v1/health')


def test_a_bad_port_is_one_line_and_exit_2():
    r = subprocess.run(opusclip_exe() + ['serve', '--port', '70000'], capture_output=True, text=True)
    assert (r.returncode, r.stderr.strip()) == (2, 'opusclip: error: --port must be between 1 and 65535 (got 70000)')

