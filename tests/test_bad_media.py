"""The bad-media corpora of tools/bad_media.py: 100+ malformed files are each refused with one line within 30 s, as a
batch with no hang and nothing written for them; valid videos at unusual settings (5-20 fps, variable rate, odd
sizes, turned upright) each make their clips with --fps 0 and the default options"""
import json, subprocess, sys, time
import pytest
from conftest import ROOT, FAST, query
from opusclip.core.basics import MediaError
from opusclip.media.decode import check_media


@pytest.fixture(scope='module')
def corpora(tmp_path_factory):
    d = tmp_path_factory.mktemp('bad-media')
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'bad_media.py'), str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return d


def test_each_malformed_file_is_refused_in_one_line_quickly(corpora):
    files = sorted((corpora / 'malformed').iterdir())
    assert len(files) >= 100
    for f in files:
        t = time.time()
        with pytest.raises(MediaError) as e:
            check_media(str(f), f.name)
        said = str(e.value)
        assert time.time() - t < 30 and f.name in said and '\n' not in said and 'Traceback' not in said, (f.name, said)


def test_a_batch_of_malformed_files_fails_each_alone_and_writes_nothing(cli, corpora, tmp_path):
    cat = str(tmp_path / 'c.duckdb')
    r = cli('batch', corpora / 'malformed', '-o', tmp_path / 'clips', '--runs', tmp_path / 'runs', '--catalog', cat,
            '--workers', '2', *FAST[2:], '--clips', '1')
    from opusclip.run.jobs import MEDIA_EXTS                           # a folder's jobs: its files with a video name
    n = len([f for f in (corpora / 'malformed').iterdir() if f.name.lower().endswith(MEDIA_EXTS)])
    assert n >= 100 and r.returncode == 1 and f'0 succeeded, {n} failed' in r.stderr, r.stderr[-2000:]
    errors = query(cat, "SELECT error_type, error FROM jobs")
    assert len(errors) == n and all(t == 'MediaError' and e and '\n' not in e for t, e in errors), errors[:5]
    assert not (tmp_path / 'clips').exists() or not any(p.is_file() for p in (tmp_path / 'clips').rglob('*'))


def test_unusual_but_valid_videos_make_their_clips(cli, corpora, tmp_path):
    cat = str(tmp_path / 'c.duckdb')
    r = cli('batch', corpora / 'unusual', '-o', tmp_path / 'clips', '--runs', tmp_path / 'runs', '--catalog', cat,
            '--workers', '2', '--fps', '0', '--clips', '1', '--min-duration', '3', '--max-duration', '10',
            '--preset', 'ultrafast', '--beam-size', '1')
    n = len(list((corpora / 'unusual').iterdir()))
    assert r.returncode == 0 and f'{n} succeeded' in r.stderr, r.stderr[-3000:]
    for doc in (tmp_path / 'clips').rglob('clips.json'):
        assert json.loads(doc.read_text())['clips'], doc
    assert query(cat, "SELECT count(DISTINCT video_id) FROM clips") == [(n,)]
