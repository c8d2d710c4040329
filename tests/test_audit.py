"""The audit trail leaves exactly one row per action: sign-ins (failed ones too), job submissions, cancellations and
retries (over the API and from the CLI), reviews, workflow changes and runs, token and membership changes, model
training and activation (tests/test_engagement.py), dashboard reviews and exports (tests/test_signin.py); and
`opusclip admin audit verify` still finds the chain intact after all of them"""
import json, shutil, signal, subprocess, time
import httpx, pytest
from conftest import DEMO, opusclip_exe
from opusclip.lab.api_load import start_server
from opusclip.run.catalog import Catalog
from opusclip.run.identity import Identity

WORKFLOW = 'name = "notify"\n[trigger]\ntype = "api"\n[[actions]]\ntype = "notify"\nurl = "http://127.0.0.1:9/"\nretries = 0\n'


def counts(ids):
    return {(r['action'], r['outcome']): r['n'] for r in ids.rows("SELECT action, outcome, count(*) AS n FROM audit GROUP BY ALL")}


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp('audit')
    cat = Catalog(str(d / 'opusclip.duckdb'))
    broken = d / 'broken.mp4'; broken.write_bytes(DEMO.read_bytes()[:5000])     # a job that fails fast
    with cat.connect() as con:
        con.execute("INSERT INTO clips (clip_id, video_id, rank, score, title, created_at) VALUES ('c1', 'v1', 1, 80, 't', now())")
        con.execute("INSERT INTO jobs (job_id, batch_id, seq, source_uri, output_uri, params, state, attempts, max_attempts, "
                    "queued_at, error, priority) VALUES ('j-failed', 'b', 0, ?, ?, '{}', 'failed', 1, 1, now(), 'x', 0)",
                    [str(broken), str(d / 'out')])
    cat.snapshot()
    ids = Identity(cat.path)
    ids.add_org('default'); ids.add_user('ana', 'ana has a long password'); ids.set_member('default', 'ana', 'admin')
    row, token = ids.create_token('default', 'ana', 'admin')
    (d / 'wf').mkdir(); (d / 'wf' / 'notify.toml').write_text(WORKFLOW)
    return dict(dir=d, ids=ids, token=token, broken=broken, catalog=cat.path)


def test_each_action_leaves_exactly_one_row(site):
    d, ids = site['dir'], site['ids']
    h = {'Authorization': f"Bearer {site['token']}"}
    before = counts(ids)
    proc, base = start_server(d, workers=1, args=('--workflows', d / 'wf', '--root', d))
    try:
        assert httpx.post(base + '/v1/auth/login', json={'user': 'ana', 'password': 'ana has a long password'}).status_code == 200
        assert httpx.post(base + '/v1/auth/login', json={'user': 'ana', 'password': 'not her password'}).status_code == 401
        jobs = []
        for k in range(2):                                             # the second waits while the first runs
            src = d / f'broken{k}.mp4'; shutil.copy(site['broken'], src)
            r = httpx.post(base + '/v1/jobs', headers=h, json={'uri': str(src)})
            assert r.status_code == 201, r.text
            jobs.append(r.json()['job_id'])
        r = httpx.post(base + f'/v1/jobs/{jobs[1]}/cancel', headers=h)
        assert r.status_code == 200, r.text
        assert httpx.post(base + '/v1/jobs/j-failed/retry', headers=h).status_code == 200
        assert httpx.post(base + '/v1/clips/c1/review', headers=h, json={'action': 'approve'}).status_code == 200
        assert httpx.post(base + '/v1/workflows/notify/runs', headers=h).status_code == 202
    finally:
        proc.send_signal(signal.SIGINT); proc.wait(timeout=120)
    r = subprocess.run(opusclip_exe() + ['jobs', 'cancel', 'j-failed', '--catalog', site['catalog']], capture_output=True, text=True)
    cli_cancelled = r.returncode == 0                                  # queued again by the retry, unless it ran already
    ids.create_token('default', 'ana', 'read')
    ids.set_member('default', 'ana', 'editor')
    after = counts(ids)
    grew = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    want = {('login', 'ok'): 1, ('login', 'failed'): 1, ('job.submit', 'ok'): 2, ('job.cancel', 'ok'): 1 + cli_cancelled,
            ('job.retry', 'ok'): 1, ('clip.approve', 'ok'): 1, ('workflow.add', 'ok'): 1, ('workflow.run', 'ok'): 1,
            ('token.create', 'ok'): 1, ('member.set', 'ok'): 1}
    assert grew == want, (grew, r.stdout, r.stderr)
    row = ids.one("SELECT actor, object, address FROM audit WHERE action = 'clip.approve'")
    assert row['actor'].startswith('ana') and row['object'] == 'c1' and row['address'] == '127.0.0.1'
    v = subprocess.run(opusclip_exe() + ['admin', 'audit', 'verify', '--catalog', site['catalog']], capture_output=True, text=True)
    assert v.returncode == 0 and 'intact' in v.stdout, v.stdout + v.stderr
    proc, base = start_server(d, workers=1, args=('--workflows', d / 'wf', '--root', d))   # a restart, nothing changed
    proc.send_signal(signal.SIGINT); proc.wait(timeout=120)
    assert counts(ids).get(('workflow.add', 'ok')) == 1 and ('workflow.change', 'ok') not in counts(ids)
