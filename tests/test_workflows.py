"""Workflows and alerts run by a real `opusclip serve --workflows DIR` on a loopback port: a webhook trigger (signature
checked), a clip action, notifications to a local HTTP receiver and a real SMTP server (aiosmtpd), retries when the
receiver fails; alerts raised by the server once, whatever the number of monitoring pages open"""
import hmac, http.server, json, os, shutil, signal, subprocess, sys, threading, time
import httpx, pytest
from conftest import DEMO, opusclip_exe
from opusclip.lab.api_load import free_port, start_server
from test_api_jobs import OPTS


class Receiver(http.server.BaseHTTPRequestHandler):
    "Answers 500 to the first two calls on /hook, 204 otherwise; keeps every call"
    calls = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        Receiver.calls.append((self.path, dict(self.headers), body))
        failing = self.path == '/hook' and sum(p == '/hook' for p, _, _ in Receiver.calls) <= 2
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *a):
        pass


def wait_for(what, timeout=600, every=0.5):
    deadline = time.time() + timeout
    while not (got := what()):
        if time.time() > deadline:
            raise AssertionError(f'timed out after {timeout} s')
        time.sleep(every)
    return got


@pytest.fixture(scope='module')
def server(tmp_path_factory, cache_dir):
    d = tmp_path_factory.mktemp('wf')
    rec = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    threading.Thread(target=rec.serve_forever, daemon=True).start()
    smtp_port = free_port()
    smtp = subprocess.Popen([sys.executable, '-m', 'aiosmtpd', '-n', '-l', f'127.0.0.1:{smtp_port}',
                             '-c', 'aiosmtpd.handlers.Mailbox', str(d / 'mail')], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wfs = d / 'workflows'; wfs.mkdir()
    opts = ', '.join(f'{k} = "{v}"' for k, v in OPTS.items())
    (wfs / 'talks.toml').write_text(f'''
[trigger]
type = "webhook"
secret_env = "WF_HOOK_KEY"
[conditions]
min_score = 0
[[actions]]
type = "clip"
options = {{ {opts} }}
[[actions]]
type = "notify"
url = "http://127.0.0.1:{rec.server_port}/hook"
secret_env = "WF_NOTIFY_KEY"
email = ["team@example.com"]
smtp = "127.0.0.1:{smtp_port}"
backoff_s = 0.5
''')
    (wfs / 'alarm.toml').write_text(f'''
[trigger]
type = "alert"
every_s = 1
rules = {{ min_jobs = 1, failure_rate = 0.0, disk_free_percent = 0 }}
[[actions]]
type = "notify"
url = "http://127.0.0.1:{rec.server_port}/alert"
''')
    env = dict(OPUSCLIP_CACHE=cache_dir, WF_HOOK_KEY='hook-key', WF_NOTIFY_KEY='notify-key')
    shutil.copy(DEMO, d / 'demo.mp4')    # clients may name files in the server's --root only
    proc, base = start_server(d, env=env, args=('--workflows', wfs, '--root', d))
    cat = str(d / 'opusclip.duckdb')
    yield dict(base=base, cat=cat, dir=d, proc=proc)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    smtp.terminate(); smtp.wait(timeout=10)
    rec.shutdown()


def signature(key: bytes, body: bytes) -> str:
    return 'sha256=' + hmac.new(key, body, 'sha256').hexdigest()


def mails(d):
    box = d / 'mail' / 'new'
    return sorted(box.iterdir()) if box.is_dir() else []


def test_webhook_signature_clip_notify_retry_and_mail(server):
    base = server['base']
    body = json.dumps({'uri': str(server['dir'] / 'demo.mp4')}).encode()
    bad = httpx.post(base + '/v1/hooks/talks', content=body, headers={'X-Opusclip-Signature': signature(b'guess', body)})
    assert bad.status_code == 401 and bad.headers['content-type'] == 'application/problem+json', bad.text
    assert httpx.post(base + '/v1/hooks/talks', content=body).status_code == 401         # no signature at all
    refused = httpx.get(base + '/v1/workflows/runs', params=dict(workflow='talks')).json()['items']
    assert [(r['state'], r['reason']) for r in refused] == [('refused', 'no signature'),
                                                            ('refused', 'the signature does not match the body')]
    assert 'talks: webhook call from 127.0.0.1 refused' in (server['dir'] / 'serve.log').read_text()

    ok = httpx.post(base + '/v1/hooks/talks', content=body, headers={'X-Opusclip-Signature': signature(b'hook-key', body)})
    assert ok.status_code == 202, ok.text
    rid = ok.json()['run_id']
    run = wait_for(lambda: (r := httpx.get(f'{base}/v1/workflows/runs/{rid}').json())['state'] != 'running' and r)
    assert run['state'] == 'succeeded' and run['job_id'], run
    hooks = [(h, b) for p, h, b in Receiver.calls if p == '/hook']
    assert len(hooks) == 3                                         # failed twice, then delivered: once
    assert len({h['X-Opusclip-Delivery'] for h, b in hooks}) == 1 and len({b for h, b in hooks}) == 1
    h, b = hooks[-1]
    assert h['X-Opusclip-Signature'] == signature(b'notify-key', b)
    event = json.loads(b)
    assert event['run_id'] == rid and event['job_id'] == run['job_id'] and len(event['clips']) == 2
    assert [(d['channel'], d['attempt'], d['status']) for d in run['deliveries']] == [
        ('webhook', 1, 'failed'), ('webhook', 2, 'failed'), ('webhook', 3, 'delivered'), ('email', 1, 'delivered')]
    got = wait_for(lambda: mails(server['dir']), timeout=10)
    assert len(got) == 1 and 'Subject: opusclip: talks: 2 clips from demo.mp4' in got[0].read_text()
    job = httpx.get(f"{base}/v1/jobs/{run['job_id']}").json()
    assert job['state'] == 'succeeded' and job['clips'] == 2


def test_a_failed_job_raises_one_alert_with_two_monitoring_pages_open(server, tmp_path):
    from playwright.sync_api import sync_playwright
    from test_dashboards import CHROMIUM, served
    if not os.path.exists(CHROMIUM):
        pytest.skip('needs the Debian chromium package (bash .ci/install --dev installs it)')
    base, bad = server['base'], server['dir'] / 'bad.mp4'
    bad.write_text('not a video\n' * 100)
    r = httpx.post(base + '/v1/jobs', json=dict(uri=str(bad), options=dict(clips=1)))
    assert r.status_code == 201, r.text
    alerts = lambda: [json.loads(b) for p, h, b in Receiver.calls if p == '/alert']
    got = wait_for(alerts, timeout=300)                       # no browser open: the server raised it
    assert [(a['event'], a['alert']['rule']) for a in got] == [('alert', 'failure rate')]
    with served(server['cat'], 'monitoring') as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        pages = [browser.new_page() for _ in range(2)]
        for page in pages:
            page.goto(url + '/monitoring')
        for page in pages:
            page.locator('.raised-alerts').get_by_text('failure rate').first.wait_for(timeout=120000)
            page.locator('.workflow-runs').get_by_text('alarm').first.wait_for(timeout=30000)
        time.sleep(8)                                         # both pages refresh a few times
        browser.close()
    time.sleep(2)                                             # and the server judges the rules every second
    assert len(alerts()) == 1
    runs = httpx.get(base + '/v1/workflows/runs', params=dict(workflow='alarm')).json()['items']
    assert [(r['trigger'], r['subject'], r['state']) for r in runs] == [('alert', 'failure rate', 'succeeded')]
    assert [(a['rule'], a['cleared_at']) for a in httpx.get(base + '/v1/alerts').json()['items']] == [('failure rate', None)]


def test_workflow_commands(tmp_path):
    cli = lambda *a: subprocess.run(opusclip_exe() + [str(x) for x in a], capture_output=True, text=True, timeout=300)
    (tmp_path / 'bad.toml').write_text('[trigger]\ntype = "cron"\nschedule = "every day"\n[[actions]]\ntype = "mail"\n')
    (tmp_path / 'ok.yaml').write_text('trigger: {type: api}\nactions: [{type: export, to: out}]\n')
    r = cli('workflow', 'validate', tmp_path / 'bad.toml', tmp_path / 'ok.yaml')
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.splitlines() == [f"{tmp_path / 'bad.toml'}: actions[0].type: 'mail' is not one of "
                                     "['clip', 'papermill', 'export', 'notify']"], r.stderr
    r = cli('workflow', 'validate', tmp_path / 'ok.yaml')
    assert r.returncode == 0 and '1 workflow file(s) OK' in r.stdout
    for args, want in [(('serve', '--workflows', tmp_path / 'nope'), 'no such folder'),
                       (('serve', '--workflows', tmp_path), 'bad.toml: '),
                       (('workflow', 'run', tmp_path / 'bad.toml'), 'bad.toml: ')]:
        r = cli(*args, '--catalog', tmp_path / 'c.duckdb')
        assert r.returncode == 2 and want in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    (tmp_path / 'bad.toml').unlink()
    r = cli('workflow', 'list', tmp_path)
    assert r.returncode == 0 and r.stdout.split()[:3] == ['ok', 'api', 'export'], r.stdout
    r = cli('workflow', 'run', tmp_path / 'ok.yaml', '--catalog', tmp_path / 'c.duckdb', '--home', tmp_path / 'home')
    assert r.returncode == 0 and r.stdout.startswith('workflow ok run wr-') and ': succeeded' in r.stdout, r.stdout + r.stderr
