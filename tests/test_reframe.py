"Tracking on the real videos in ../shared/data/video: the face stays in the 9:16 crop, the crop glides, and it follows a cut"
import numpy as np, pytest
from opusclip.media.decode import probe, sample_frames
from opusclip.understand.vision import analyse_frames
from opusclip.produce.framing import crop_path

VIDEOS = [f'retalking_face_{i}.mp4' for i in range(1, 6)] + ['short_hamilton_clip.mp4']

def track(src, detector='haar'):
    info = probe(str(src)); W, H = info.display_size
    fa = analyse_frames(str(src), fps=5, width=min(640, W), face_detector=detector)
    box, path, followed = crop_path(fa.times, fa.faces, fa.cuts, W, H, 0.0, info.duration, fps=30)
    at = lambda t: path[min(len(path) - 1, int(round(t * 30)))]
    return W, fa, box, path, at, followed

@pytest.mark.parametrize('detector', ['haar', 'blazeface'])
@pytest.mark.parametrize('name', VIDEOS)
def test_face_inside_crop_and_crop_glides(shared, name, detector):
    W, fa, box, path, at, followed = track(shared / 'video' / name, detector)
    seen = [(t, s) for t, f, s in zip(fa.times, fa.faces, followed) if f]
    assert len(seen) >= 10 and sum(s is not None for _, s in seen) >= 0.8 * len(seen)   # the tracker follows someone in most of them
    inside = [abs(s[0] * W - at(t)) <= box.w / 2 for t, s in seen if s is not None]
    assert np.mean(inside) >= 0.98, np.mean(inside)
    step = np.abs(np.diff(path)) * 1080 / box.w          # output pixels a frame at 1080x1920
    cut_frames = {int(round(c * 30)) for c in fa.cuts}
    moves = [s for i, s in enumerate(step, 1) if not any(abs(i - c) <= 1 for c in cut_frames)]
    assert max(moves) <= 2.0 + 1e-6, max(moves)

@pytest.mark.parametrize('detector', ['haar', 'blazeface'])
def test_crop_follows_the_face_across_the_cut(shared, detector):
    "Multi-shot clip: a face near cx 0.86 until the cut at ~1.6 s, then one near cx 0.23-0.46"
    W, fa, box, path, at, _ = track(shared / 'video' / 'short_hamilton_clip.mp4', detector)
    cut = min(c for c in fa.cuts if 1.4 <= c <= 2.0)
    assert at(cut - 0.2) / W >= 0.7 and at(cut + 0.1) / W <= 0.45, (at(cut - 0.2) / W, at(cut + 0.1) / W)

@pytest.mark.parametrize('name,detector', [('retalking_face_1.mp4', 'haar'), ('short_hamilton_clip.mp4', 'haar'), ('short_hamilton_clip.mp4', 'blazeface')])
def test_rendered_crop_keeps_the_face(shared, tmp_path, name, detector):
    "The streaming Reframer inside a real render: the face stays in the crop and the crop glides, frame by frame"
    from opusclip.media.cut import encode_segment
    from opusclip.produce.reframe import Reframer
    src = str(shared / 'video' / name); info = probe(src); W, H = info.display_size
    rf = Reframer(W, H, 30.0, face_detector=detector)
    r = encode_segment(src, 0.0, info.duration, str(tmp_path / 'r.mp4'), fps=30, frame_filter=rf)
    out = probe(r.path); assert (out.width, out.height, round(out.fps)) == (1080, 1920, 30)
    fills = [(i, p, f) for i, (lay, p, f, _) in enumerate(rf.trace) if lay == 'fill']
    assert len(fills) >= 0.5 * len(rf.trace), [l for l, *_ in rf.trace]          # one face in most shots: cropped on it
    tracked = [abs(f[0] * W - p) <= rf.box.w / 2 for _, p, f in fills if f is not None]
    assert len(tracked) >= 0.5 * len(fills) and np.mean(tracked) >= 0.98, (len(tracked), np.mean(tracked))
    fa = analyse_frames(src, fps=5, width=min(640, W))
    t0 = next(sample_frames(src, fps=30))[0]             # output frame i shows source time t0 + i / 30 (this clip's picture starts late)
    shots = [i for i, (*_, start) in enumerate(rf.trace) if start == 'cut' and i > 0]
    assert all(any(abs(t0 + i / 30 - c) <= 0.2 for c in fa.cuts) for i in shots), (shots, fa.cuts)   # scene cuts found are real cuts
    jumps = {i for i, (*_, start) in enumerate(rf.trace) if start}                                   # cuts, and cuts to another person
    pos = {i: p for i, p, _ in fills}
    steps = [abs(pos[i] - pos[i - 1]) * 1080 / rf.box.w for i in pos if i - 1 in pos and i not in jumps]
    assert max(steps) <= 2.0 + 1e-6, max(steps)

@pytest.mark.parametrize('talking', ['left', 'right'])
def test_fill_follows_the_active_speaker(tmp_path, talking):
    "Two people side by side, one talking and one holding still: a forced fill crops on the one talking"
    from conftest import DEMO
    from opusclip.lab.demo import side_by_side
    from opusclip.media.cut import encode_segment
    from opusclip.produce.reframe import Reframer
    src = side_by_side(str(DEMO), str(tmp_path / 'two.mp4'), 36.0, 5.0, 6.0, frozen='right' if talking == 'left' else 'left')
    info = probe(src); W, H = info.display_size
    rf = Reframer(W, H, 30.0, layout='fill')
    encode_segment(src, 0.0, info.duration, str(tmp_path / 'r.mp4'), fps=30, frame_filter=rf)
    late = [p / W for lay, p, *_ in rf.trace[60:]]                # after two seconds
    on_side = [(c < 0.5) == (talking == 'left') for c in late]
    assert np.mean(on_side) >= 0.9, (talking, np.mean(on_side))
