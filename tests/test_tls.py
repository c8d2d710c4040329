"""HTTPS: `opusclip serve` and `opusclip dashboard` with `--tls-cert/--tls-key`, a certificate made in the test by a
throwaway CA (trustme), and clients that verify against that CA (and refuse without it)"""
import signal, ssl, urllib.request
import httpx, pytest, trustme
from opusclip.lab.api_load import start_server
from opusclip.run.catalog import Catalog
from test_dashboards import served

@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    d, ca = tmp_path_factory.mktemp('pki'), trustme.CA()
    cert = ca.issue_cert('127.0.0.1', 'localhost')
    ca.cert_pem.write_to_path(str(d / 'ca.pem'))
    cert.private_key_pem.write_to_path(str(d / 'key.pem'))
    for i, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(str(d / 'cert.pem'), append=i > 0)
    return dict(ca=str(d / 'ca.pem'), cert=str(d / 'cert.pem'), key=str(d / 'key.pem'))

def test_api_serves_https_verified_against_the_test_ca(tmp_path, pki):
    proc, base = start_server(tmp_path, args=('--tls-cert', pki['cert'], '--tls-key', pki['key']), ca=pki['ca'])
    try:
        assert base.startswith('https://127.0.0.1:')
        r = httpx.get(base + '/v1/health', verify=ssl.create_default_context(cafile=pki['ca']))
        assert r.status_code == 200 and r.json()['status'] == 'ok', r.text
        with pytest.raises(httpx.ConnectError, match='CERTIFICATE_VERIFY_FAILED'):
            httpx.get(base + '/v1/health')                       # the system's CAs do not know the test CA
        with pytest.raises(httpx.HTTPError):
            httpx.get(base.replace('https://', 'http://') + '/v1/health')   # no plain HTTP on the TLS port
    finally:
        proc.send_signal(signal.SIGINT); proc.wait(timeout=60)

def test_dashboard_serves_https_verified_against_the_test_ca(tmp_path, pki):
    cat = Catalog(str(tmp_path / 'opusclip.duckdb')); cat.query('SELECT 1')
    with served(cat.path, 'monitoring', args=('--tls-cert', pki['cert'], '--tls-key', pki['key']), ca=pki['ca']) as url:
        assert url.startswith('https://')
        ctx = ssl.create_default_context(cafile=pki['ca'])
        with urllib.request.urlopen(url + '/monitoring', timeout=60, context=ctx) as r:
            assert r.status == 200 and b'bokeh' in r.read().lower()

def test_a_bad_certificate_is_one_clear_line(cli, tmp_path, pki):
    r = cli('serve', '--catalog', tmp_path / 'c.duckdb', '--tls-cert', pki['ca'], '--tls-key', pki['ca'])
    assert r.returncode == 2 and 'not a PEM certificate and its key' in r.stderr and 'Traceback' not in r.stderr
    r = cli('dashboard', '--catalog', tmp_path / 'c.duckdb', '--tls-cert', pki['cert'])
    assert r.returncode == 2 and '--tls-cert and --tls-key go together' in r.stderr
