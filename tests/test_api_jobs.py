"""Jobs over HTTP against a real `opusclip serve` on a loopback port, with an empty catalog of its own.

End to end: the demo is uploaded (streamed from its file), followed by Server-Sent Events to its end, its clips listed,
one fetched with a Range request and approved (the review app's feedback row). Bad uploads, including one cut off
mid-body, are refused and leave no job, row or file.
"""
import json, os, signal, socket, subprocess, time
import duckdb, httpx, pytest
from conftest import DEMO, opusclip_exe
from opusclip.lab.api_load import start_server

OPTS = dict(clips='2', min_duration='3', max_duration='13', max_height='240', preset='ultrafast', beam_size='1',
            loudness='off')


@pytest.fixture(scope='module')
def live(tmp_path_factory, cache_dir):
    d = tmp_path_factory.mktemp('live')
    proc, base = start_server(d, env=dict(OPUSCLIP_CACHE=cache_dir), args=('--upload-idle-s', '3'))
    cat, home, port = str(d / 'opusclip.duckdb'), d / 'home', int(base.rsplit(':', 1)[1])
    yield dict(base=base, port=port, cat=cat, home=home, proc=proc)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def events(base, jid):
    "The (event, data) pairs of a job's Server-Sent Events stream, to its end"
    out, kind = [], None
    with httpx.stream('GET', f'{base}/v1/jobs/{jid}/events', timeout=600) as r:
        assert r.status_code == 200 and r.headers['content-type'].startswith('text/event-stream')
        for line in r.iter_lines():
            if line.startswith('event:'):
                kind = line.split(':', 1)[1].strip()
            elif line.startswith('data:'):
                out.append((kind, json.loads(line.split(':', 1)[1])))
    return out


def test_upload_follow_list_seek_and_approve(live):
    base = live['base']
    with open(DEMO, 'rb') as f:
        r = httpx.post(base + '/v1/jobs', files={'file': ('demo talk.mp4', f, 'video/mp4')}, data=OPTS,
                       headers={'Idempotency-Key': 'e2e-1'}, timeout=120)
    assert r.status_code == 201, r.text
    job = r.json()
    assert r.headers['location'] == f"/v1/jobs/{job['job_id']}" and job['params']['clips'] == 2
    got = events(base, job['job_id'])
    assert got[-1][0] == 'end' and got[-1][1]['state'] == 'succeeded' and got[-1][1]['percent'] == 100.0
    pcts = [d['percent'] for k, d in got]
    assert pcts == sorted(pcts)
    assert any(d['state'] == 'running' and 0 < d['percent'] < 100 for k, d in got), got   # progress, not only the end
    clips = httpx.get(base + '/v1/clips').json()['items']
    assert len(clips) == 2 and all(c['score'] is not None and c['title'] and c['reason'] and c['text'] for c in clips)
    path = clips[0]['video_uri']
    r = httpx.get(f"{base}/v1/clips/{clips[0]['clip_id']}/media", headers={'Range': 'bytes=100-1099'})
    assert r.status_code == 206 and r.content == open(path, 'rb').read()[100:1100]
    r = httpx.post(f"{base}/v1/clips/{clips[0]['clip_id']}/review", json=dict(action='approve', reviewer='e2e'))
    assert r.status_code == 200 and r.json()['status'] == 'approved'
    fb = live['cat'][:-7] + '.feedback.duckdb'
    with duckdb.connect(fb, read_only=True) as con:
        assert con.execute("SELECT clip_id, action, status, reviewer FROM clip_feedback").fetchall() == [
            (clips[0]['clip_id'], 'approve', 'approved', 'e2e')]


def left_behind(live):
    "Jobs in the catalog and files under the server's uploads"
    jobs = len(httpx.get(live['base'] + '/v1/jobs').json()['items'])
    return jobs, sorted(str(p) for p in (live['home'] / 'uploads').rglob('*') if p.is_file() and 'demo' not in p.name)


def raw_upload(port, declared, body, close):
    "A multipart upload declaring `declared` bytes, sending `body`, then closing its side or stalling; the reply"
    s = socket.create_connection(('127.0.0.1', port))
    s.settimeout(30)
    part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    s.sendall(b'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n'
              b'Content-Length: %d\r\n\r\n' % declared + part + body)
    if close:
        s.shutdown(socket.SHUT_WR)
    reply = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply


def test_bad_uploads_are_problems_and_leave_nothing(live, tmp_path):
    base, before = live['base'], left_behind(live)
    half = open(DEMO, 'rb').read()[:1_500_000]
    for name, data, want in [('notes.txt', b'some notes', 'notes.txt is not a video file'),
                             ('talk.mp4', b'not a video\n' * 100, 'talk.mp4 is not a readable video'),
                             ('cut.mp4', half, 'cut.mp4 is truncated'),
                             ('empty.mp4', b'', 'empty.mp4 is empty (0 bytes)')]:
        r = httpx.post(base + '/v1/jobs', files={'file': (name, data, 'video/mp4')})
        assert r.status_code == 422 and r.headers['content-type'] == 'application/problem+json', r.text
        assert want in r.json()['detail']
    stalled = raw_upload(live['port'], 2 * 2**30, half[:1 << 20], close=False)     # 2 GB declared, 1 MB sent, no more
    head, _, body = stalled.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 408') and b'application/problem+json' in head, head
    assert 'stopped arriving for 3 s' in json.loads(body)['detail']
    assert raw_upload(live['port'], 2 * 2**30, half[:1 << 20], close=True) == b''   # the client went: no one to answer
    time.sleep(1)
    assert left_behind(live) == before
    assert live['proc'].poll() is None


def test_fuzzing_the_live_openapi_finds_no_server_error(live):
    """schemathesis against the live OpenAPI document, valid and invalid requests to every operation: no 5xx, every
    answer as documented (status, content type, headers, schema). Not checked: that every schema-valid request is
    accepted, since a random string is no cursor and random bytes are no video"""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import positive_data_acceptance
    schema = schemathesis.openapi.from_url(live['base'] + '/openapi.json')
    calls, failures = [], []
    for op in (r.ok() for r in schema.get_all_operations()):
        for mode in schemathesis.GenerationMode:
            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                      derandomize=True)
            def fuzz(case):
                calls.append(op.label)
                case.call_and_validate(excluded_checks=[positive_data_acceptance], timeout=30)
            try:
                fuzz()
            except Unsatisfiable:        # no invalid request exists (a path parameter that any text satisfies)
                continue
            except BaseException as e:   # schemathesis raises groups of failures
                failures.append(f'{op.label} ({mode.value}): {e}'[:2000])
    assert failures == [], '\n\n'.join(failures)
    assert len(calls) >= 1000 and len(set(calls)) >= 12, (len(calls), sorted(set(calls)))
    assert live['proc'].poll() is None


def test_the_client_notebook_submits_follows_and_shows_the_clips(live, tmp_path):
    out = tmp_path / 'api_client.ipynb'
    r = subprocess.run([os.path.join(os.path.dirname(opusclip_exe()[0]), 'papermill'), 'pipelines/api_client.ipynb', str(out),
                        '-p', 'api_url', live['base'], '-y', 'options: {clips: 1, max_height: 240, preset: ultrafast}',
                        '-k', 'python3', '--no-progress-bar'],
                       capture_output=True, text=True, timeout=600, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert r.returncode == 0, r.stderr[-3000:]
    shown = json.loads(out.read_text())['cells'][-1]['outputs'][0]['data']['text/html']
    html = ''.join(shown)
    assert html.count('<video') == 1 and f"{live['base']}/v1/clips/" in html


YT = ('Content,Video title,Video publish time,Views,Likes,Comments added,Shares\n'
      + ''.join(f'v{i},t{i},2026-11-{i + 1:02d},{100 * (i + 1)},{i},1,0\n' for i in range(12)))


def test_engagement_import_by_upload_and_analytics_as_json(live, tmp_path):
    base = live['base']
    assert httpx.get(base + '/v1/analytics/summary').json()['posts'] == 0
    r = httpx.post(base + '/v1/engagement', files={'file': ('Table data.csv', YT.encode(), 'text/csv')},
                   data=dict(platform='youtube', observed='2026-11-20'))
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ('rows', 'new', 'updated', 'problems')} == dict(rows=12, new=12, updated=0, problems=[])
    from opusclip.api.client import Client
    (tmp_path / 'Table data.csv').write_text(YT)
    again = Client(base).import_engagement(tmp_path / 'Table data.csv', 'youtube', '2026-11-20')
    assert (again['new'], again['unchanged']) == (0, 12)
    s = httpx.get(base + '/v1/analytics/summary', params=dict(by='platform')).json()
    assert (s['posts'], s['views'], [t['platform'] for t in s['trends']]) == (12, 7800, ['youtube'])
    recs = httpx.get(base + '/v1/analytics/recommendations').json()
    assert list(recs) == ['(all)'] and all(isinstance(x, str) for x in recs['(all)'])
    assert httpx.get(base + '/v1/analytics/forecasts').json() == {}     # none made yet: forecasting is a batch job
    kept = sorted(p.name for p in (live['home'] / 'imports').rglob('*.csv'))
    for files, data, status, want in [
        ({'file': ('video.mp4', b'\x00\x01\xff\xfe' * 100, 'video/mp4')}, {}, 400, 'not a text (CSV) file'),
        ({'file': ('noid.csv', b'views,likes\n1,2\n', 'text/csv')}, {}, 400, 'no id or link column'),
        ({'file': ('a.csv', YT.encode(), 'text/csv')}, dict(platform='vimeo'), 422, 'platform must be one of'),
        ({'file': ('a.csv', YT.encode(), 'text/csv')}, dict(observed='yesterday'), 422, 'observed must be a date'),
    ]:
        r = httpx.post(base + '/v1/engagement', files=files, data=data)
        assert r.status_code == status and r.headers['content-type'] == 'application/problem+json', r.text
        assert want in r.json()['detail'], r.text
    assert sorted(p.name for p in (live['home'] / 'imports').rglob('*.csv')) == kept == ['Table data.csv', 'Table data.csv']
    assert httpx.get(base + '/v1/analytics/summary').json()['posts'] == 12
