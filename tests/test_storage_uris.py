"Inputs and outputs as fsspec URIs: memory://, file://, http:// (read-only) through the real pipeline"
import functools, http.server, json, threading
import fsspec, pytest
from conftest import DEMO
from opusclip.run.catalog import Catalog
from opusclip.core.basics import StorageError
from opusclip.media.decode import probe
from opusclip.run.options import ClipParams
from opusclip.run.pipeline import clip_video, transcribe_video
from opusclip.media.storage import StageCache

P = dict(clips=2, min_duration=10, max_duration=30, aspect='source')   # framing is not what these test

def test_memory_in_memory_out(tmp_path, cache_dir):
    fs = fsspec.filesystem('memory'); fs.pipe('/src/demo.mp4', DEMO.read_bytes())
    res = clip_video('memory://src/demo.mp4', 'memory://out/clips', ClipParams(**P), Catalog(tmp_path / 'c.duckdb'), StageCache(cache_dir))
    doc = json.loads(fs.cat('/out/clips/clips.json'))
    assert len(doc['clips']) == 2 and doc['video']['uri'] == 'memory://src/demo.mp4'
    for c in doc['clips']:
        info = probe(f"memory://out/clips/{c['files']['video']}")
        assert info.has_audio and abs(info.duration - c['duration']) < 0.1
    assert res['run_id']

def test_file_uri_output(tmp_path, cache_dir):
    clip_video(str(DEMO), f'file://{tmp_path}/clips', ClipParams(**P), Catalog(tmp_path / 'c.duckdb'), StageCache(cache_dir))
    assert (tmp_path / 'clips' / 'clips.json').exists() and (tmp_path / 'clips' / 'clip-01.mp4').stat().st_size > 0

@pytest.fixture
def http_root():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(DEMO.parent))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()

def test_http_input_and_read_only_output(http_root, tmp_path, cache_dir):
    pytest.importorskip('aiohttp')
    out = tmp_path / 'demo.json'
    r = transcribe_video(f'{http_root}/demo.mp4', str(out), ClipParams(), Catalog(tmp_path / 'c.duckdb'), StageCache(cache_dir))
    assert r['words'] > 200 and json.loads(out.read_text())['language'] == 'en'
    with pytest.raises(StorageError, match='read-only'):
        clip_video(str(DEMO), f'{http_root}/out', ClipParams(**P), Catalog(tmp_path / 'c.duckdb'), StageCache(cache_dir))
