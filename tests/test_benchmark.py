"`pipelines/benchmark.ipynb` executed as users run it, on a short input: rows in the catalog and the report"
import nbformat, papermill as pm
from conftest import DEMO, ROOT, query

def test_benchmark_notebook_on_demo(tmp_path):
    out = tmp_path / 'benchmark.ipynb'; cat = tmp_path / 'opusclip.duckdb'; docs = tmp_path / 'benchmarks.md'
    from opusclip.media.cut import encode_segment  # the demo's first 25 s: every stage runs, in less time
    src = encode_segment(str(DEMO), 0.0, 25.0, str(tmp_path / 'demo25.mp4'), preset='ultrafast').path
    params = dict(input=src, double=False, catalog=str(cat), workdir=str(tmp_path / 'work'), docs=str(docs), minutes=10.0, clips=1, reframe_seconds=4.0, batch_jobs=2, batch_seconds=7.0, dashboard_clips=2000, dashboard_engagement=20000, api_clients=4, api_jobs=1, api_baseline_seconds=3.0, store_upload_mb=32,
                  batch_options='{"aspect": "source", "max_height": 240, "captions": "none", "loudness": "off", "fps": 0, "beam_size": 1}')   # the batch part: small jobs
    pm.execute_notebook(str(ROOT / 'pipelines' / 'benchmark.ipynb'), str(out), parameters=params, cwd=str(ROOT), kernel_name='python3')
    nb = nbformat.read(str(out), as_version=4)
    assert nb.metadata.papermill.parameters == params and nb.metadata.papermill.exception is None
    stages = {r[0]: r for r in query(str(cat), "SELECT stage, wall_s, rtf, baseline_s, ratio, peak_rss_mb FROM benchmarks")}
    assert {'total', 'transcribe', 'decode_audio', 'render', 'sample_frames_1fps', 'decode for analysis (audio to 16 kHz mono, best of 3)'} <= set(stages)
    assert all(r[1] > 0 for s, r in stages.items() if s in ('total', 'transcribe', 'render'))
    assert stages['clip encoding (render, paired)'][3] > 0 and stages['decode for analysis (audio to 16 kHz mono, best of 3)'][3] > 0 and 50 < stages['total'][5] < 4096
    text = docs.read_text()
    assert '| target | measured | met |' in text and 'transcription at most 0.20x real time' in text
    batch = {s: r for s, r in stages.items() if 'job overhead' in s or 'worker' in s}
    assert len(batch) == 5 and all(r[1] > 0 and r[3] > 0 for r in batch.values()), batch
    assert '## Batch engine' in text and 'per-job overhead of papermill + kernel + imports at most 5 s' in text
    dash = [r for s, r in stages.items() if s.startswith('analytics ')]
    assert len(dash) == 2 and all(0 < r[1] < 60 for r in dash) and '## Dashboards' in text
    api = {s: r for s, r in stages.items() if s.endswith('4 clients, 1 jobs running')}
    assert 'all p95, 4 clients, 1 jobs running' in api and all(r[1] > 0 and r[3] > 0 for r in api.values()), api
    assert '## Web API under load' in text and '| no errors' in text and '| 0 problems | yes |' in text, text
