"Shared fixtures: the real media in ../shared/data (skipped when absent), the CLI as users run it, catalogs and caches"
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('OPUSCLIP_SHARED_DATA', ROOT.parent / 'shared' / 'data'))
DEMO = ROOT / 'opusclip' / 'assets' / 'demo.mp4'

# The files whose tests take longest run first. xdist's loadfile hands out files in collection order (kept by
# --no-loadscope-reorder in .ci/test), so the long ones start at once and the short ones fill the gaps at the end.
LONGEST_FIRST = ('test_batch.py', 'test_benchmark.py', 'test_dashboards.py', 'test_clip_cli.py', 'test_bad_inputs.py',
                 'test_transformers_backend.py', 'test_reframe.py', 'test_engagement.py', 'test_golden.py')

def pytest_collection_modifyitems(items):
    "Longest files first, tests within a file in their written order"
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))

@pytest.fixture(scope='session')
def shared():
    "The shared real-media folder; tests that need it skip on a fresh clone without ../shared"
    if not (SHARED / 'references.json').exists():
        pytest.skip(f'real media not found at {SHARED} (clone beside ../shared or set OPUSCLIP_SHARED_DATA)')
    return SHARED

@pytest.fixture(scope='session')
def references(shared): return json.loads((shared / 'references.json').read_text())

@pytest.fixture(scope='session')
def cache_dir(tmp_path_factory):
    "One stage cache for the whole session, so each source is transcribed once"
    return str(tmp_path_factory.mktemp('cache'))

@pytest.fixture
def catalog(tmp_path): return str(tmp_path / 'opusclip.duckdb')

def opusclip_exe():
    exe = Path(sys.executable).parent / 'opusclip'
    return [str(exe)] if exe.exists() else [sys.executable, '-c', 'from opusclip.cli.main import main; main()']

@pytest.fixture(scope='session')
def cli(cache_dir):
    "Run the `opusclip` console script; returns the CompletedProcess"
    def run(*args, cwd=None, env=None):
        e = dict(os.environ, OPUSCLIP_CACHE=cache_dir, **(env or {}))
        return subprocess.run(opusclip_exe() + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=e, timeout=900)
    return run

def query(catalog, sql, params=None):
    import duckdb
    with duckdb.connect(catalog, read_only=True) as con: return con.execute(sql, params or []).fetchall()

# fast clip options for tests about the batch engine and the dashboards (not about picture or sound)
FAST = ['--clips', '1', '--min-duration', '3', '--max-duration', '13', '--aspect', 'source', '--max-height', '240',
        '--captions', 'none', '--loudness', 'off', '--fps', '0', '--beam-size', '1']

@pytest.fixture(scope='session')
def pieces(tmp_path_factory):
    "Eight 13-second pieces of the bundled demo, each with its own speech, as separate real MP4 files"
    from opusclip.lab.batch_bench import demo_pieces
    d = tmp_path_factory.mktemp('pieces')
    demo_pieces(str(d), 8)
    return d
