"`opusclip clip` end to end on the bundled demo video: files, sentence-bounded cuts, catalog rows, the transcript cache"
import json, os, subprocess
import av
import opentimelineio as otio, pytest
from conftest import DEMO, query
from opusclip.understand.segment import ends_sentence

@pytest.fixture(scope='module')
def demo_run(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp('demo'); cat = str(d / 'opusclip.duckdb')
    own = ('--catalog', cat, '--cache', d / 'cache')   # a cache of its own: the first run must transcribe
    fast = ('--preset', 'ultrafast')                     # the fastest x264 preset keeps the suite short
    first = cli('clip', DEMO, '-o', d / 'clips', '--clips', '3', '--min-duration', '10', '--max-duration', '30', *own, *fast)
    assert first.returncode == 0, first.stderr
    # the rerun picks the same cuts, so the same clip ids; small files without captions keep it short
    small = ('--max-height', '240', '--captions', 'none', '--loudness', 'off')
    second = cli('clip', DEMO, '-o', d / 'rerun', '--clips', '3', '--min-duration', '10', '--max-duration', '30', *own, *fast, *small, '-q')
    assert second.returncode == 0, second.stderr
    tr = cli('transcribe', DEMO, '-o', d / 'demo.json', *own, '-q')
    assert tr.returncode == 0, tr.stderr
    return d, cat, json.loads((d / 'clips' / 'clips.json').read_text()), json.loads((d / 'demo.json').read_text()), first

def test_clips_json_and_files(demo_run):
    d, cat, doc, _, first = demo_run
    v = doc['video']
    assert v['width'] == 854 and v['height'] == 480 and v['fps'] == 25 and 100 < v['duration'] < 140
    assert [c['rank'] for c in doc['clips']] == [1, 2, 3]
    for c in doc['clips']:
        assert set(c) >= {'rank', 'id', 'start', 'end', 'duration', 'score', 'text', 'files', 'subscores', 'reason', 'title',
                          'hashtags', 'description', 'analysis', 'keep'}
        assert set(c['subscores']) == {'hook', 'coherence', 'connection', 'trend'} and all(0 <= v <= 100 for v in c['subscores'].values())
        assert c['reason'].startswith('This clip') and c['title'] and 3 <= len(c['hashtags']) <= 5 and c['description'][-1:] in '.?!'
        assert set(c['analysis']) >= {'sentiment', 'emotion', 'category', 'keywords', 'complexity'} and c['keep'] == [[c['start'], c['end']]]
        an = c['analysis']   # audio and picture: a steady flite narrator over a real talking head
        assert {'speech_rate_wpm', 'loudness_variation_db', 'pitch_variation_st', 'face_presence', 'motion', 'cuts'} <= set(an)
        assert 120 <= an['speech_rate_wpm'] <= 240 and an['face_presence'] >= 0.9 and 0 < an['pitch_variation_st'] < 12 and an['loudness_variation_db'] > 0
        assert 10 - 0.5 <= c['duration'] <= 30 + 0.5 and 0 <= c['score'] <= 100
        for k in ('video', 'srt', 'vtt', 'thumbnail'): assert (d / 'clips' / c['files'][k]).stat().st_size > 0
    a = doc['clips']; assert all(x['end'] <= y['start'] or y['end'] <= x['start'] for i, x in enumerate(a) for y in a[i + 1:])
    assert 'clip-01.mp4' in first.stderr and 'clips from' in first.stderr   # the summary users see
    va = v['analysis']; assert va['face_presence'] >= 0.9 and va['cuts'] >= 1 and 120 <= va['speech_rate_wpm'] <= 240   # five topics, a face each

def test_clip_media_plays_with_expected_size_and_sync(demo_run):
    d, _, doc, _, _ = demo_run
    for c in doc['clips']:
        with av.open(str(d / 'clips' / c['files']['video'])) as f:
            vs, as_ = f.streams.video[0], f.streams.audio[0]
            assert (vs.codec_context.name, as_.codec_context.name) == ('h264', 'aac')
            assert (vs.width, vs.height, float(vs.average_rate)) == (1080, 1920, 30.0)   # reframed to 9:16 at 30 fps by default
            vd, ad = float(vs.duration * vs.time_base), float(as_.duration * as_.time_base)
            assert abs(vd - (c['end'] - c['start'])) <= 0.05 and abs(vd - ad) <= 1 / 30 + 1e-3, (vd, ad)
            assert sum(1 for _ in f.decode(video=0)) == round(vd * 30)
        files = c['files']
        assert {'otio', 'xml', 'sheet', 'srt', 'vtt', 'thumbnail'} <= set(files), files       # editor timelines and the crop path's contact sheet
        assert otio.adapters.read_from_file(str(d / 'clips' / files['otio'])).duration().to_seconds() == pytest.approx(vd, abs=0.05)

def test_cuts_fall_on_sentence_boundaries_with_little_silence(demo_run):
    _, _, doc, transcript, _ = demo_run
    words = [w for s in transcript['segments'] for w in s['words']]
    for c in doc['clips']:
        inside = [i for i, w in enumerate(words) if w['start'] >= c['start'] and w['end'] <= c['end']]
        i0, i1 = inside[0], inside[-1]
        assert inside == list(range(i0, i1 + 1))
        assert not any(w['start'] < c['start'] < w['end'] or w['start'] < c['end'] < w['end'] for w in words), 'cut inside a word'
        assert i0 == 0 or ends_sentence(words[i0 - 1]['word']), f"clip starts mid-sentence after {words[i0 - 1]['word']!r}"
        assert ends_sentence(words[i1]['word']), f"clip ends mid-sentence at {words[i1]['word']!r}"
        assert words[i0]['start'] - c['start'] <= 0.3 and c['end'] - words[i1]['end'] <= 0.3

def test_catalog_rows_and_cached_transcript(demo_run):
    _, cat, doc, _, _ = demo_run
    runs = query(cat, "SELECT command, status, stages->'transcribe'->>'cached' FROM runs ORDER BY started_at")
    assert [r[:2] for r in runs] == [('clip', 'succeeded'), ('clip', 'succeeded'), ('transcribe', 'succeeded')]
    assert [r[2] for r in runs] == ['false', 'true', 'true']   # the second run reused the transcript
    assert query(cat, "SELECT count(*) FROM clips") == [(3,)]    # rerun replaced, did not duplicate
    assert query(cat, "SELECT count(*) FROM videos") == [(1,)]
    assert query(cat, "SELECT count(DISTINCT transcript_id) FROM transcripts")[0][0] == 1
    assert query(cat, "SELECT count(*) FROM words")[0][0] > 200
    assert sorted(r[0] for r in query(cat, "SELECT clip_id FROM clips")) == sorted(c['id'] for c in doc['clips'])
    for row in query(cat, "SELECT video_uri, srt_uri, vtt_uri, thumbnail_uri FROM clips"):
        assert all(os.path.isabs(f) and os.path.exists(f) for f in row), row
    assert query(cat, "SELECT uri FROM videos") == [(str(DEMO),)]
    rows = query(cat, "SELECT rank, reason, title, subscores->>'hook', analysis->>'category' FROM clips ORDER BY rank")
    assert [(r[0], r[1], r[2]) for r in rows] == [(c['rank'], c['reason'], c['title']) for c in doc['clips']] and all(r[3] and r[4] for r in rows)
    assert query(cat, "SELECT analysis->>'category' FROM videos")[0][0] == doc['video']['analysis']['category']

def test_prompt_moves_the_matching_topic_to_the_top(cli, demo_run, tmp_path):
    "The demo's caffeine topic is not first on its own (the demo run); a prompt about caffeine puts it first (a dry run ranks as a render does)"
    d, _, doc, _, _ = demo_run
    args = ('--clips', '3', '--min-duration', '10', '--max-duration', '30', '--catalog', tmp_path / 'c.duckdb', '--cache', d / 'cache', '-q', '--dry-run')
    guided = cli('clip', DEMO, '-o', tmp_path / 'guided', *args, '--prompt', 'coffee, caffeine and the afternoon slump')
    assert guided.returncode == 0, guided.stderr
    plain, first = doc['clips'][0], json.loads((tmp_path / 'guided' / 'clips.json').read_text())['clips'][0]
    assert 'caffeine' not in plain['text'].lower(), plain['text']
    assert 'caffeine' in first['text'].lower() and first['subscores']['trend'] > 0, first['text']

def test_tighten_cuts_pauses_keeping_sync_and_captions(cli, demo_run, tmp_path):
    "--tighten --max-pause 0.2 shortens the demo's sentence pauses: the clip is its keep intervals back to back"
    small = ('--cache', demo_run[0] / 'cache', '--max-height', '360', '--preset', 'ultrafast')   # the demo run's transcript, small fast files
    r = cli('clip', DEMO, '-o', tmp_path / 'tight', '--clips', '2', '--tighten', '--max-pause', '0.2', '--catalog', tmp_path / 'c.duckdb', '-q', *small,
            '--face-detector', 'blazeface')   # the other face detector, end to end (vision stage and reframing)
    assert r.returncode == 0, r.stderr
    assert query(str(tmp_path / 'c.duckdb'), "SELECT params->>'face_detector' FROM runs") == [('blazeface',)]
    # the words this run cut by (Whisper's word times can shift by a few hundredths between runs on a loaded machine)
    words = [dict(start=a, end=b) for a, b in query(str(tmp_path / 'c.duckdb'), "SELECT start_s, end_s FROM words ORDER BY idx")]
    assert len(words) > 200
    doc = json.loads((tmp_path / 'tight' / 'clips.json').read_text())
    for c in doc['clips']:
        keep = c['keep']
        assert len(keep) > 1 and keep[0][0] == c['start'] and keep[-1][1] == c['end']
        assert all(a < b <= a2 for (a, b), (a2, _) in zip(keep, keep[1:]))
        kept = sum(b - a for a, b in keep)
        assert abs(c['duration'] - kept) <= 0.05 and c['duration'] < c['end'] - c['start'] - 0.3
        for (_, b), (a2, _) in zip(keep, keep[1:]):    # every cut lies in silence, never inside a word
            assert not any(w['start'] < b < w['end'] or w['start'] < a2 < w['end'] or (b <= w['start'] and w['end'] <= a2) for w in words)
        with av.open(str(tmp_path / 'tight' / c['files']['video'])) as f:
            vd = float(f.streams.video[0].duration * f.streams.video[0].time_base); ad = float(f.streams.audio[0].duration * f.streams.audio[0].time_base)
        assert abs(vd - c['duration']) <= 0.05 and abs(vd - ad) <= 1 / 30 + 1e-3, (vd, ad)
        srt = (tmp_path / 'tight' / c['files']['srt']).read_text()
        last_end = srt.strip().split('\n\n')[-1].splitlines()[1].split(' --> ')[1]
        h, m, sec = last_end.replace(',', '.').split(':')
        assert c['duration'] - 0.5 <= float(sec) + 60 * int(m) <= c['duration'] + 1e-3, (last_end, c['duration'])

@pytest.mark.parametrize('fps', [15, 12])
def test_low_frame_rates_keep_their_rate_and_their_timelines(cli, tmp_path, fps):
    "A source at a rate SMPTE timecode lacks, with --fps 0 (keep it): the clips are made, and the FCP XML at a multiple"
    from opusclip.media.cut import encode_segment
    src = tmp_path / f'talk{fps}.mp4'
    encode_segment(str(DEMO), 2.0, 16.0, str(src), preset='ultrafast', max_height=240, fps=fps)
    r = cli('clip', src, '-o', tmp_path / 'out', '--clips', '1', '--min-duration', '3', '--max-duration', '13',
            '--fps', '0', '--captions', 'none', '--loudness', 'off', '--preset', 'ultrafast', '--catalog', tmp_path / 'c.duckdb')
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    c = json.loads((tmp_path / 'out' / 'clips.json').read_text())['clips'][0]
    with av.open(str(tmp_path / 'out' / c['files']['video'])) as f:
        assert round(float(f.streams.video[0].average_rate)) == fps
    xml = otio.adapters.read_from_file(str(tmp_path / 'out' / c['files']['xml']))
    assert xml.duration().to_seconds() == pytest.approx(c['end'] - c['start'], abs=2 / fps)

def test_a_failed_rerun_leaves_the_previous_outputs(cli, tmp_path):
    "A rerun into the same folder whose recording fails: the earlier run's files and clips.json stay, rows still point at them"
    from conftest import FAST
    import duckdb
    cat, out = str(tmp_path / 'c.duckdb'), tmp_path / 'out'
    first = cli('clip', DEMO, '-o', out, '--catalog', cat, *FAST[:1], '2', *FAST[2:])
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with duckdb.connect(cat) as con:                                   # the next recording of clips will fail
        con.execute("DROP INDEX clips_created; DROP INDEX clips_org")
        con.execute("ALTER TABLE clips ADD COLUMN boom INTEGER DEFAULT 0")
        con.execute("ALTER TABLE clips ALTER COLUMN boom SET NOT NULL")
        con.execute("ALTER TABLE clips ALTER COLUMN boom DROP DEFAULT")
    second = cli('clip', DEMO, '-o', out, '--catalog', cat, '--clips', '2', '--min-duration', '3', '--max-duration', '9',
                 *FAST[6:])
    assert second.returncode != 0 and 'NOT NULL constraint failed: clips.boom' in second.stderr, second.stderr[-1500:]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before   # as they were: nothing new, nothing set aside left
    files = [f for (f,) in query(cat, "SELECT video_uri FROM clips")]
    assert len(files) == 2 and all(os.path.exists(f) for f in files)

def test_cache_stats_show_the_reruns_hits_and_prune_keeps_a_size(cli, demo_run):
    d, cat, *_ = demo_run
    r = cli('cache', 'stats', '--cache', d / 'cache', '--catalog', cat, '--json')
    s = json.loads(r.stdout)
    assert r.returncode == 0 and s['files'] > 0 and {'transcribe', 'prosody'} <= set(s['stages']), r.stdout
    assert 0 < s['hits']['hits'] < s['hits']['lookups'], s['hits']          # the rerun and transcribe hit, the first run did not
    cap = s['bytes'] // 2
    r = cli('cache', 'prune', '--cache', d / 'cache', '--max-size', str(cap))
    assert r.returncode == 0 and 'removed' in r.stdout, r.stdout + r.stderr
    assert json.loads(cli('cache', 'stats', '--cache', d / 'cache', '--json').stdout)['bytes'] <= cap


@pytest.fixture
def tiny_disk(tmp_path):
    "A 100 KB file system (tmpfs): too small for a clip"
    d = tmp_path / 'tiny'; d.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=100k', 'tmpfs', str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f'mounting a small tmpfs needs root here: {r.stderr.strip()}')
    yield d
    subprocess.run(['umount', str(d)], check=True)


def test_a_full_disk_is_one_clear_line_and_nothing_half_written(cli, tmp_path, tiny_disk):
    from conftest import FAST
    r = cli('clip', DEMO, '-o', tiny_disk / 'out', '--catalog', tmp_path / 'c.duckdb', *FAST)
    assert r.returncode != 0 and 'no space left' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-1500:]
    assert [p.name for p in (tiny_disk / 'out').rglob('*')] == [], list((tiny_disk / 'out').rglob('*'))
    assert query(str(tmp_path / 'c.duckdb'), "SELECT count(*) FROM clips") == [(0,)]
