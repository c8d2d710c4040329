"""The batch engine as users run it: `opusclip batch`/`watch`/`jobs` in a subprocess on real short videos (pieces of the bundled
demo), the local pool and a Dask LocalCluster, and failure injection (a worker killed mid-job, the whole batch SIGKILLed)"""
import json, os, signal, subprocess, time
from pathlib import Path
import nbformat, papermill as pm
from conftest import ROOT, query, opusclip_exe, FAST

def batch(args, cache, cwd, timeout=600, **kw):
    env = dict(os.environ, OPUSCLIP_CACHE=str(cache))
    return subprocess.run(opusclip_exe() + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, **kw)

def jobs(cat):
    return {Path(r[0]).name: r[1:] for r in query(cat, "SELECT source_uri, state, attempts, clips, error_type, error, run_id FROM jobs")}

def clips_of(cat):
    return sorted(query(cat, "SELECT v.uri, c.clip_id, c.start_s, c.end_s, c.score FROM clips c JOIN videos v USING (video_id)"))

def assert_consistent(cat, out):
    "Every succeeded job has exactly its clips (no duplicates, none lost) and one succeeded run whose notebook exists"
    js = query(cat, "SELECT job_id, output_uri, clips, run_id, notebook_uri FROM jobs WHERE state = 'succeeded'")
    for job_id, output, n, run_id, nb in js:
        doc = json.loads((Path(output) / 'clips.json').read_text())
        assert len(doc['clips']) == n
        assert query(cat, "SELECT count(*) FROM clips WHERE run_id = ?", [run_id])[0][0] == n
        assert query(cat, "SELECT count(*) FROM runs WHERE job_id = ? AND status = 'succeeded'", [job_id])[0][0] == 1
        assert Path(nb).exists() and nbformat.read(nb, as_version=4).metadata.papermill.parameters['run_id'] == run_id
    assert query(cat, "SELECT count(*) - count(DISTINCT (video_id, start_s, end_s)) FROM clips")[0][0] == 0

def test_clip_video_notebook(tmp_path, pieces, cache_dir):
    "papermill runs pipelines/clip_video.ipynb on a real short video: clips on disk, a run row pointing at the notebook"
    out, nb, cat = tmp_path / 'clips', tmp_path / 'run.ipynb', tmp_path / 'c.duckdb'
    params = dict(source=str(pieces / 'talk1.mp4'), output=str(out), catalog=str(cat), cache=cache_dir, clips=2, min_duration=3.0,
                  max_duration=13.0, aspect='1:1', captions='pop', loudness='off', run_id='nbrun', notebook_uri=str(nb))
    pm.execute_notebook(str(ROOT / 'pipelines' / 'clip_video.ipynb'), str(nb), parameters=params, kernel_name='python3', cwd=str(tmp_path))
    meta = nbformat.read(str(nb), as_version=4).metadata.papermill
    assert meta.parameters == params and meta.exception is None
    declared = set(pm.inspect_notebook(str(ROOT / 'pipelines' / 'clip_video.ipynb')))
    from dataclasses import fields
    from opusclip.run.options import ClipParams
    assert {f.name for f in fields(ClipParams)} <= declared          # every `opusclip clip` option is a parameter
    doc = json.loads((out / 'clips.json').read_text())
    assert 1 <= len(doc['clips']) <= 2
    import av
    with av.open(str(out / doc['clips'][0]['files']['video'])) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (1080, 1080)
    assert query(str(cat), "SELECT run_id, status, notebook_uri FROM runs") == [('nbrun', 'succeeded', str(nb))]

def test_batch_local_and_dask_give_the_same_clips(tmp_path, pieces, cache_dir):
    "Four real videos through the local pool (2 workers) and through a Dask LocalCluster: all succeed, identical clips"
    from distributed import LocalCluster
    res = {}
    for engine in ('local', 'dask'):
        cat, out = str(tmp_path / f'{engine}.duckdb'), tmp_path / engine
        extra = ['--workers', '2']
        if engine == 'dask':
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            extra = ['--scheduler', cluster.scheduler_address]
        try: r = batch(['batch', str(pieces / 'talk[0-3].mp4'), '-o', out, '--runs', tmp_path / f'runs-{engine}', '--catalog', cat, *FAST, *extra], cache_dir, tmp_path)
        finally:
            if engine == 'dask': cluster.close()
        assert r.returncode == 0, r.stderr[-3000:]
        assert '4 succeeded, 0 failed' in r.stderr
        js = jobs(cat)
        assert len(js) == 4 and all(v[0] == 'succeeded' and v[1] == 1 and v[2] >= 1 for v in js.values()), js
        assert_consistent(cat, out)
        res[engine] = [(Path(u).name, *rest) for u, *rest in clips_of(cat)]
    assert res['local'] == res['dask'] and len(res['local']) >= 4

def test_worker_killed_mid_job_is_retried(tmp_path, pieces, cache_dir):
    "The kernel running a job is killed: the job is tried again and the batch completes"
    import psutil
    cat, runs = str(tmp_path / 'c.duckdb'), tmp_path / 'runs'
    args = ['batch', str(pieces / 'talk[0-2].mp4'), '-o', tmp_path / 'out', '--runs', runs, '--catalog', cat, '--workers', '1', '--backoff', '0.5', *FAST]
    env = dict(os.environ, OPUSCLIP_CACHE=cache_dir, OPUSCLIP_THREADS='2')
    p = subprocess.Popen(opusclip_exe() + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and p.poll() is None:
        if list(runs.glob('*/clip_video.ipynb')):          # papermill writes the notebook as the job starts
            kids = [c for c in psutil.Process(p.pid).children(recursive=True) if 'ipykernel' in ' '.join(c.cmdline())]
            if kids: kids[0].kill(); killed = kids[0].pid
        time.sleep(0.05)
    _, err = p.communicate(timeout=600)
    assert killed, 'no kernel to kill'
    assert p.returncode == 0, err[-3000:]
    assert 'retry' in err and 'WorkerLost' in err
    js = jobs(cat)
    assert all(v[0] == 'succeeded' for v in js.values()) and sorted(v[1] for v in js.values()) == [1, 1, 2], js
    assert_consistent(cat, tmp_path / 'out')

def test_sigkilled_batch_resumes_every_job_exactly_once(tmp_path, pieces, cache_dir):
    "SIGKILL the whole batch (coordinator and kernels) mid-way; a plain rerun refuses, --resume finishes every job once"
    cat, out, runs = str(tmp_path / 'c.duckdb'), tmp_path / 'out', tmp_path / 'runs'
    args = ['batch', str(pieces / 'talk[3-7].mp4'), '-o', out, '--runs', runs, '--catalog', cat, '--workers', '1', *FAST]
    env = dict(os.environ, OPUSCLIP_CACHE=cache_dir)
    p = subprocess.Popen(opusclip_exe() + [str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                         env=env, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None and not (len(list(out.glob('*/clips.json'))) >= 2 and len(list(runs.glob('*/*.ipynb'))) >= 3):
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    before = jobs(cat)
    assert sum(v[0] == 'succeeded' for v in before.values()) >= 2 and any(v[0] in ('running', 'queued') for v in before.values()), before
    r = batch(['batch', str(pieces / 'talk[3-7].mp4'), '-o', out, '--runs', runs, '--catalog', cat, *FAST], cache_dir, tmp_path)
    assert r.returncode == 2 and 'opusclip: error:' in r.stderr and '--resume' in r.stderr, r.stderr[-2000:]
    r = batch(['batch', '--resume', '--catalog', cat, '--runs', runs, '--workers', '1'], cache_dir, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    js = jobs(cat)
    assert len(js) == 5 and all(v[0] == 'succeeded' for v in js.values()), js
    assert_consistent(cat, out)
    assert query(cat, "SELECT count(*) FROM runs WHERE status = 'succeeded'")[0][0] == 5    # the killed attempt left no run behind
    from opusclip.lab.faults import check_records                                          # but its notebook is kept as a lost run
    assert check_records(cat, runs) == [] and query(cat, "SELECT count(*) FROM runs WHERE status = 'lost'")[0][0] >= 1

def test_bad_rows_and_a_corrupt_file_fail_alone(tmp_path, pieces, cache_dir):
    "A missing file, a bad URI scheme, a repeated row and an unknown option are reported; a corrupt video fails with its error; the rest succeed"
    bad = tmp_path / 'broken.mp4'; bad.write_bytes((pieces / 'talk2.mp4').read_bytes()[:20000])
    good1, good2 = pieces / 'talk4.mp4', pieces / 'talk5.mp4'
    (tmp_path / 'm.csv').write_text(f"source,priority,clips,colour\n{good1},1,,\n{tmp_path}/missing.mp4,,,\nftpx://host/a.mp4,,,\n"
                                    f"{good1},1,,\n{good2},,,red\n{bad},,,\n{good2},9,,\n")
    cat = str(tmp_path / 'c.duckdb')
    r = batch(['batch', tmp_path / 'm.csv', '-o', tmp_path / 'out', '--runs', tmp_path / 'runs', '--catalog', cat, '--workers', '1', *FAST], cache_dir, tmp_path)
    assert r.returncode == 1, r.stderr[-3000:]
    for row, words in ((3, 'no such file'), (4, "unknown storage protocol 'ftpx'"), (5, 'repeats row 2'), (6, "unknown option 'colour'")):
        assert f'row {row}: ' in r.stderr and words in r.stderr, (row, r.stderr[-3000:])
    js = jobs(cat)
    assert set(js) == {'talk4.mp4', 'talk5.mp4', 'broken.mp4'}
    assert js['talk4.mp4'][0] == js['talk5.mp4'][0] == 'succeeded'
    state, attempts, _, etype, error, _ = js['broken.mp4']
    assert (state, attempts, etype) == ('failed', 1, 'MediaError') and 'broken.mp4' in error           # bad input: no retry
    order = query(cat, "SELECT source_uri FROM jobs ORDER BY started_at")
    assert Path(order[0][0]).name == 'talk5.mp4'                                                        # priority 9 ran first
    assert_consistent(cat, tmp_path / 'out')
    assert query(cat, "SELECT status, error_type FROM runs WHERE input_uri = ?", [str(bad)]) == [('failed', 'MediaError')]
    # opusclip jobs: list, show, retry and cancel
    cli = lambda *a: subprocess.run(opusclip_exe() + ['jobs', *a, '--catalog', cat], capture_output=True, text=True)
    r = cli('list', '--state', 'failed'); assert r.returncode == 0 and 'broken.mp4' in r.stdout and 'talk4' not in r.stdout
    jid = query(cat, "SELECT job_id FROM jobs WHERE state = 'failed'")[0][0]
    r = cli('show', jid[:6]); assert 'MediaError' in r.stdout and 'notebook_uri' in r.stdout
    assert cli('retry').returncode == 0 and jobs(cat)['broken.mp4'][0] == 'queued'
    assert cli('cancel', jid).returncode == 0 and jobs(cat)['broken.mp4'][0] == 'cancelled'
    ok = query(cat, "SELECT job_id FROM jobs WHERE state = 'succeeded'")[0][0]
    r = cli('cancel', ok); assert r.returncode == 1 and 'succeeded' in r.stdout
    r = cli('show', 'zzzz'); assert r.returncode == 2 and "no job 'zzzz'" in r.stderr

def test_four_workers_finishing_together_lose_no_rows(tmp_path, pieces, cache_dir):
    "Four workers on four same-length videos finish at about the same time: every run, clip and word lands once"
    cat = str(tmp_path / 'c.duckdb')
    r = batch(['batch', str(pieces / 'talk[0-3].mp4'), '-o', tmp_path / 'out', '--runs', tmp_path / 'runs', '--catalog', cat,
               '--workers', '4', '--threads', '1', *FAST], cache_dir, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    js = jobs(cat)
    assert len(js) == 4 and all(v[0] == 'succeeded' for v in js.values())
    fin = sorted(x[0] for x in query(cat, "SELECT epoch(finished_at) FROM jobs"))
    assert_consistent(cat, tmp_path / 'out')
    assert query(cat, "SELECT count(*) FROM runs")[0][0] == 4
    assert query(cat, "SELECT sum(n_words) FROM transcripts")[0][0] == query(cat, "SELECT count(*) FROM words")[0][0] > 0
    assert len({r[0] for r in query(cat, "SELECT worker FROM jobs")}) == 4, fin               # four workers really ran them

def test_watch_runs_each_new_file_once(tmp_path, pieces, cache_dir):
    "`opusclip watch --once` turns new files into jobs; a second scan runs nothing again, a new file runs alone"
    inbox, cat = tmp_path / 'inbox', str(tmp_path / 'c.duckdb')
    inbox.mkdir()
    for k in (6, 7): (inbox / f'talk{k}.mp4').write_bytes((pieces / f'talk{k}.mp4').read_bytes())
    args = ['watch', inbox, '--once', '-o', tmp_path / 'out', '--runs', tmp_path / 'runs', '--catalog', cat, '--workers', '1', *FAST]
    assert batch(args, cache_dir, tmp_path).returncode == 0
    assert len(jobs(cat)) == 2
    r = batch(args, cache_dir, tmp_path)
    assert r.returncode == 0 and '2 jobs already succeeded' in r.stderr
    (inbox / 'talk0.mp4').write_bytes((pieces / 'talk0.mp4').read_bytes())
    r = batch(args, cache_dir, tmp_path)
    assert r.returncode == 0 and '1 succeeded' in r.stderr
    js = jobs(cat)
    assert len(js) == 3 and all(v[0] == 'succeeded' and v[1] == 1 for v in js.values())
    assert query(cat, "SELECT count(*) FROM runs")[0][0] == 3

def test_run_records_go_to_any_fsspec_uri(tmp_path, pieces, cache_dir):
    "Executed notebooks written to a non-local URI (memory://, as s3:// would be) and the rows point at them"
    import fsspec
    from opusclip.run.batch import run_batch
    from opusclip.run.queue import load_jobs
    from opusclip.run.catalog import Catalog
    from opusclip.run.options import ClipParams
    os.environ['OPUSCLIP_CACHE'] = cache_dir
    cat = Catalog(str(tmp_path / 'c.duckdb'))
    res = run_batch(str(pieces / 'talk1.mp4'), output=str(tmp_path / 'out'), runs='memory://opusclip-test/runs', catalog=cat, workers=1, quiet=True,
                    defaults=ClipParams(clips=1, min_duration=3, max_duration=13, aspect='source', captions='none', loudness='off', max_height=240))
    assert res['succeeded'] == 1
    j = load_jobs(cat)[0]
    assert j['notebook_uri'].startswith('memory://opusclip-test/runs/') and j['papermill']['exception'] is None
    nb = json.loads(fsspec.open(j['notebook_uri'], 'rt').open().read())
    assert nb['metadata']['papermill']['parameters']['run_id'] == j['run_id']
    assert cat.query("SELECT notebook_uri FROM runs WHERE job_id = ?", [j['job_id']])[0][0] == j['notebook_uri']

def test_a_job_that_cannot_be_recorded_ends_the_batch_in_one_line_and_resumes(tmp_path, pieces, cache_dir):
    "Another process holds the catalog while a job finishes: one line, exit 2, the failure kept for monitoring; --resume records it"
    import sys
    from opusclip.run.catalog import catalog_problem
    cat, out, runs = str(tmp_path / 'c.duckdb'), tmp_path / 'out', tmp_path / 'runs'
    args = ['batch', str(pieces / 'talk6.mp4'), '-o', out, '--runs', runs, '--catalog', cat, '--workers', '1', *FAST]
    env = dict(os.environ, OPUSCLIP_CACHE=cache_dir)
    p = subprocess.Popen(opusclip_exe() + [str(a) for a in args], stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    deadline = time.time() + 120
    while not list(runs.glob('*/clip_video.ipynb')) and time.time() < deadline:
        time.sleep(0.05)
    holder = subprocess.Popen([sys.executable, '-c', f"import duckdb, sys; c = duckdb.connect({cat!r}); print('held', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        _, err = p.communicate(timeout=300)
    finally:
        holder.stdin.close(); holder.wait(timeout=30)
    assert p.returncode == 2 and 'opusclip: error: cannot record job' in err and '--resume' in err and 'Traceback' not in err, err[-2000:]
    problem = catalog_problem(cat, 'ingest')
    assert problem and problem['job_id'] in err, problem
    assert [v[0] for v in jobs(cat).values()] == ['running']
    assert (out / 'talk6' / 'clips.json').exists()                     # its outputs are kept
    r = batch(['batch', '--resume', '--catalog', cat, '--runs', runs, '--workers', '1'], cache_dir, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [v[0] for v in jobs(cat).values()] == ['succeeded'] and catalog_problem(cat, 'ingest') is None
    assert_consistent(cat, out)
