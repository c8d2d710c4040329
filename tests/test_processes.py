"""Commands that start servers stop them when they are stopped: after SIGTERM to `opusclip dashboard` or to
`opusclip serve` (with a job's kernel running), no process they started is left, and their ports are free"""
import os, shutil, signal, socket, subprocess, time, urllib.request
import psutil, pytest
from conftest import DEMO, opusclip_exe
from opusclip.lab.api_load import free_port, start_server
from opusclip.lab.dashboard_bench import sample_catalog


def free(port):
    with socket.socket() as s:
        return s.connect_ex(('127.0.0.1', port)) != 0


def stopped_cleanly(proc, family, port):
    "SIGTERM to `proc` alone: it and every process it had started (`family`) end, and `port` is free"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=90)
    gone, alive = psutil.wait_procs(family, timeout=30)
    assert alive == [], [(p.pid, p.name()) for p in alive]
    assert free(port)


def test_dashboard_stops_its_panel_server(tmp_path):
    cat = sample_catalog(str(tmp_path / 'c.duckdb')); cat.snapshot()
    port = free_port()
    log = open(tmp_path / 'dash.log', 'w')
    p = subprocess.Popen(opusclip_exe() + ['dashboard', 'analytics', '--catalog', cat.path, '--port', str(port)],
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while True:
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/analytics', timeout=5).close(); break
        except OSError:
            assert p.poll() is None and time.time() < deadline, (tmp_path / 'dash.log').read_text()[-2000:]
            time.sleep(0.5)
    family = psutil.Process(p.pid).children(recursive=True)
    assert any('panel' in ' '.join(c.cmdline()) for c in family), [c.cmdline() for c in family]
    stopped_cleanly(p, family, port)


def test_serve_stops_its_job_kernels(tmp_path):
    shutil.copy(DEMO, tmp_path / 'talk.mp4')
    proc, base = start_server(tmp_path, workers=1, args=('--root', tmp_path))
    import httpx
    r = httpx.post(base + '/v1/jobs', json={'uri': str(tmp_path / 'talk.mp4')})
    assert r.status_code == 201, r.text
    deadline, family = time.time() + 120, []
    while time.time() < deadline and not any('ipykernel' in ' '.join(c.cmdline()) for c in family):
        time.sleep(0.5)
        family = psutil.Process(proc.pid).children(recursive=True)
    assert any('ipykernel' in ' '.join(c.cmdline()) for c in family), 'no job kernel started'
    stopped_cleanly(proc, family, int(base.rsplit(':', 1)[1]))
