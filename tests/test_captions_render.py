"Burned-in captions, loudness and editor timelines on real renders (synthetic media, so every expected value is known)"
import av, numpy as np, pyloudnorm, pytest
import opentimelineio as otio
from opusclip.media.encode import write_video
from opusclip.media.decode import probe
from opusclip.produce.render import render_clip
from opusclip.produce.caption_style import caption_style
from opusclip.understand.segment import map_time
from opusclip.media.transcript import Word

@pytest.fixture(scope='module')
def source(tmp_path_factory):
    "12 s of 1280x720 grey at 25 fps with a quiet 220 Hz tone (about -30 LUFS) and a loud burst each second"
    d = tmp_path_factory.mktemp('src'); path = str(d / 'src.mp4')
    t = np.arange(12 * 48000) / 48000
    audio = 0.05 * np.sin(2 * np.pi * 220 * t)
    burst = (t % 1.0) < 0.02; audio[burst] = 0.5 * np.sin(2 * np.pi * 1000 * t[burst])       # 20 ms shouts that the gain would push past full scale
    write_video(path, (np.full((720, 1280, 3), 90, np.uint8) for _ in range(300)), fps=25,
                audio=audio.astype(np.float32), sample_rate=48000)
    return path

WORDS = [Word(' ' + w, 0.5 + 0.5 * i, 0.5 + 0.5 * i + 0.35, 1.0) for i, w in enumerate('one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty'.split())]

def yellow_centroids(path):
    "x centroid of the highlighted (yellow) word in each frame, or None"
    out = []
    with av.open(path) as c:
        for f in c.decode(video=0):
            a = f.to_ndarray(format='rgb24')[::2, ::2].astype(int)
            m = (a[..., 0] > 180) & (a[..., 1] > 180) & (a[..., 2] < 90)
            out.append(float(np.nonzero(m)[1].mean()) if m.sum() > 50 else None)
    return out

def test_caption_follows_words_through_an_edit_list(source, tmp_path):
    keep = [(0.4, 3.0), (4.6, 7.9), (8.4, 11.0)]        # two cuts
    r = render_clip(source, 0.4, 11.0, WORDS, str(tmp_path), 'c', aspect='9:16', layout='fill', keep=keep,
                    captions=caption_style('karaoke'), fps=30)
    v = probe(r['files']['video']); assert (v.width, v.height, round(v.fps)) == (1080, 1920, 30)
    with av.open(r['files']['video']) as c:
        vd, ad = (float(s.duration * s.time_base) for s in (c.streams.video[0], c.streams.audio[0]))
    assert abs(vd - ad) <= 1 / 30 + 1e-3, (vd, ad)
    cx = yellow_centroids(r['files']['video'])
    changes = [i / 30 for i in range(1, len(cx)) if cx[i] is not None and (cx[i - 1] is None or abs(cx[i] - cx[i - 1]) > 5)]
    expected = [map_time(w.start, keep) for w in WORDS if map_time(w.start, keep) is not None and map_time(w.end, keep) is not None]
    assert len(expected) >= 12
    for t in expected[1:]:          # each word lights up within 0.1 s of its new time
        assert min(abs(t - c) for c in changes) <= 0.1, (t, changes)

def test_loudness_normalised_to_target(source, tmp_path):
    r = render_clip(source, 1.0, 9.0, [], str(tmp_path), 'l', aspect='source', loudness=-14.0)
    with av.open(r['files']['video']) as c:
        x = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    meter = pyloudnorm.Meter(48000)
    assert abs(meter.integrated_loudness(x.T.astype(np.float64)) - (-14.0)) <= 1.0
    assert np.abs(x).max() < 1.0                             # the limiter keeps even the shouts from clipping after AAC
    quiet = render_clip(source, 1.0, 9.0, [], str(tmp_path), 'q', aspect='source', loudness=None)
    with av.open(quiet['files']['video']) as c:
        y = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    assert meter.integrated_loudness(y.T.astype(np.float64)) < -20          # left alone when asked (the source is about -25 LUFS)

def test_timelines_open_with_the_edit(source, tmp_path):
    keep = [(1.0, 3.0), (5.0, 6.5)]
    r = render_clip(source, 1.0, 6.5, [], str(tmp_path), 't', aspect='source', keep=keep, fps=30)
    for k in ('otio', 'xml'):
        tl = otio.adapters.read_from_file(r['files'][k])
        assert tl.duration().to_seconds() == pytest.approx(3.5, abs=0.05)
        assert [round(c.source_range.start_time.to_seconds(), 2) for c in tl.tracks[0]] == [1.0, 5.0]

def test_source_framing_with_captions_and_logo(source, tmp_path):
    from PIL import Image
    logo = tmp_path / 'logo.png'; Image.new('RGBA', (200, 100), (255, 0, 0, 255)).save(logo)
    r = render_clip(source, 0.4, 4.0, WORDS, str(tmp_path), 's', aspect='source', captions=caption_style('pop', logo=str(logo)), max_height=360)
    v = probe(r['files']['video']); assert (v.width, v.height) == (640, 360)
    with av.open(r['files']['video']) as c:
        a = next(iter(c.decode(video=0))).to_ndarray(format='rgb24').astype(int)
    red = (a[..., 0] > 180) & (a[..., 1] < 80) & (a[..., 2] < 80)
    ys, xs = np.nonzero(red)
    assert red.sum() > 1000 and xs.mean() > 480 and ys.mean() < 100        # the logo, top right

def test_odd_size_and_rotated_sources(tmp_path):
    "A 641x361 source and a phone video stored landscape with a 90 degree display rotation both render upright at the asked size"
    odd, rot = str(tmp_path / 'odd.mp4'), str(tmp_path / 'rot.mp4')
    ramp = np.tile(np.linspace(0, 255, 320).astype(np.uint8)[None, :, None], (180, 1, 3))      # dark left, bright right
    tone = (0.1 * np.sin(np.arange(3 * 16000) / 16000 * 2 * np.pi * 200)).astype(np.float32)
    write_video(odd, (np.full((361, 641, 3), 120, np.uint8) for _ in range(75)), fps=25, audio=tone)
    write_video(rot, (ramp for _ in range(75)), fps=25, audio=tone, rotation=90)
    r = render_clip(odd, 0.0, 2.0, WORDS, str(tmp_path), 'o', aspect='9:16', captions=caption_style('karaoke'))
    assert (probe(r['files']['video']).width, probe(r['files']['video']).height) == (1080, 1920)
    info = probe(rot); assert info.display_size == (180, 320)
    r = render_clip(rot, 0.0, 2.0, [], str(tmp_path), 'r', aspect='source', captions=caption_style('minimal'))
    v = probe(r['files']['video']); assert (v.width, v.height, v.rotation) == (180, 320, 0)          # turned upright in the pixels
    with av.open(r['files']['video']) as c: shown = next(iter(c.decode(video=0))).to_ndarray(format='rgb24').astype(float)
    k = {90: 1, 180: 2, 270: 3}[info.rotation]
    expect = np.rot90(ramp, k).astype(float)
    assert np.abs(shown - expect).mean() < 12 and np.abs(shown - np.rot90(ramp, k + 2)).mean() > 60    # and the right way up
