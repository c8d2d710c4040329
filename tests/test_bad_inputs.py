"Bad input: a one-line error naming the problem, exit 2, a failed run row, and no clip rows or files"
import os
import numpy as np, pytest
from conftest import DEMO, FAST, query
from opusclip.media.encode import write_video

def frames(n, w=160, h=120):
    for i in range(n): yield np.full((h, w, 3), (i * 5) % 255, np.uint8)

@pytest.fixture(scope='module')
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp('bad')
    (d / 'notes.mp4').write_text('These are my meeting notes, not a video.\n' * 40)
    (d / 'half_demo.mp4').write_bytes(DEMO.read_bytes()[: DEMO.stat().st_size // 2])   # index first (faststart), data cut
    write_video(str(d / 'no_audio.mp4'), frames(50), fps=25)
    write_video(str(d / 'silence.mp4'), frames(30 * 5, 64, 48), fps=5, audio=np.zeros(30 * 16000, np.float32))
    (d / 'broken.ttf').write_text('not a font')
    (d / 'logo.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 40)                 # a PNG header, then nothing
    (d / 'brand.json').write_text('{"preset": "karaoke", "colour": "blurple"}')
    return d

CASES = {
    'text file renamed .mp4': (['notes.mp4'], 'is not a readable video'),
    'truncated MP4 (first half, index first)': (['half_demo.mp4'], 'truncated'),
    'video without audio': (['no_audio.mp4'], 'has no audio track'),
    '30 s of silence': (['silence.mp4'], 'silent'),
    'missing path': (['does_not_exist.mp4'], 'no such file'),
    '--clips 0': ([str(DEMO), '--clips', '0'], '--clips must be at least 1 (got 0)'),
    '--min-duration > --max-duration': ([str(DEMO), '--min-duration', '40', '--max-duration', '20'], 'must not be greater than --max-duration'),
    '--length with --min-duration': ([str(DEMO), '--length', '60-90', '--min-duration', '20'], '--length 60-90 sets the durations itself'),
    '--max-pause 0': ([str(DEMO), '--tighten', '--max-pause', '0'], '--max-pause must be between 0.1 and 10 s'),
    'unknown --aspect': ([str(DEMO), '--aspect', '3:2'], '--aspect must be one of 9:16, 1:1, 4:5, 16:9'),
    'unknown --layout': ([str(DEMO), '--layout', 'grid'], '--layout must be one of auto, fill, fit, split'),
    'unknown --face-detector': ([str(DEMO), '--face-detector', 'yolo'], '--face-detector must be one of haar, blazeface'),
    'missing --font file': ([str(DEMO), '--font', 'no_such_font.ttf'], 'font file no_such_font.ttf not found'),
    '--font that is not a font': ([str(DEMO), '--font', '{d}/broken.ttf'], 'cannot use'),
    'unreadable --logo': ([str(DEMO), '--logo', '{d}/logo.png'], 'cannot read logo'),
    'missing --logo': ([str(DEMO), '--logo', 'no_logo.png'], 'cannot read logo no_logo.png'),
    'unknown --captions preset': ([str(DEMO), '--captions', 'neon'], 'caption preset must be one of karaoke, pop, minimal'),
    'brand preset with a bad colour': ([str(DEMO), '--captions', '{d}/brand.json'], 'caption colour \'blurple\' is not a colour'),
    '--fps 1000': ([str(DEMO), '--fps', '1000'], '--fps must be between 1 and 120'),
    '--loudness loud': ([str(DEMO), '--loudness', 'loud'], '--loudness must be a number of LUFS'),
    'empty --prompt': ([str(DEMO), '--prompt', ''], '--prompt must not be empty'),
    'unknown --genre': ([str(DEMO), '--genre', 'cooking'], '--genre must be one of'),
    'weights that do not parse': ([str(DEMO), '--weights', 'hook=lots'], '--weights: hook needs a number'),
}

def check_refused(r, outdir, catalog, expect):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('opusclip: error: ') and expect in lines[0], r.stderr
    assert 'Traceback' not in r.stderr
    assert query(catalog, "SELECT status, error IS NOT NULL FROM runs") == [('failed', True)]
    assert query(catalog, "SELECT error FROM runs")[0][0] in lines[0]
    assert query(catalog, "SELECT count(*) FROM clips") == [(0,)] and query(catalog, "SELECT count(*) FROM words") == [(0,)]
    assert not outdir.exists() or not any(outdir.iterdir()), list(outdir.iterdir())

@pytest.mark.parametrize('case', list(CASES))
def test_bad_input_is_refused_cleanly(case, media, cli, tmp_path, catalog):
    args, expect = CASES[case]
    src = args[0] if os.path.isabs(args[0]) else media / args[0]
    out = tmp_path / 'out'
    r = cli('clip', src, *[a.format(d=media) for a in args[1:]], '-o', out, '--catalog', catalog, '-q')
    check_refused(r, out, catalog, expect)

def test_truncated_mp4_with_index_at_end(shared, cli, tmp_path, catalog):
    src = shared / 'video' / 'retalking_face_1.mp4'
    half = tmp_path / 'half.mp4'; half.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    r = cli('clip', half, '-o', tmp_path / 'out', '--catalog', catalog, '-q')
    check_refused(r, tmp_path / 'out', catalog, 'is not a readable video')

def test_failed_run_keeps_earlier_outputs(cli, tmp_path, catalog):
    "A failing rerun into a folder that holds good clips leaves them as they were"
    out = tmp_path / 'out'
    assert cli('clip', DEMO, '-o', out, *FAST, '--catalog', catalog, '-q').returncode == 0     # small, quick clips: only the files matter
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    r = cli('clip', tmp_path / 'missing.mp4', '-o', out, '--catalog', catalog, '-q')
    assert r.returncode == 2 and {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert query(catalog, "SELECT status FROM runs ORDER BY started_at") == [('succeeded',), ('failed',)]
    assert query(catalog, "SELECT count(*) FROM clips") == [(1,)]

def test_bad_parameters_for_transcribe(cli, tmp_path, catalog):
    r = cli('transcribe', DEMO, '-o', tmp_path / 'out.txt', '--catalog', catalog, '-q')
    assert r.returncode == 2 and 'must end in .json' in r.stderr and not (tmp_path / 'out.txt').exists()
    r = cli('transcribe', DEMO, '-o', tmp_path / 'o.json', '--device', 'tpu', '--catalog', catalog, '-q')
    assert r.returncode == 2 and '--device must be' in r.stderr

def test_catalog_that_is_not_duckdb(cli, tmp_path):
    bad = tmp_path / 'cat.duckdb'; bad.write_text('not a database' * 100)
    r = cli('clip', DEMO, '-o', tmp_path / 'out', '--catalog', bad, '-q')
    assert r.returncode == 2 and 'not an opusclip catalog' in r.stderr and not (tmp_path / 'out').exists()

def test_paths_outside_allowed_root(cli, tmp_path):
    r = cli('clip', DEMO, '-o', tmp_path / 'out', '--catalog', tmp_path / 'c.duckdb', '-q', env={'OPUSCLIP_ROOT': str(tmp_path / 'jail')})
    assert r.returncode == 2 and 'outside the allowed root' in r.stderr
