"Faces, motion and scene cuts on the real videos in ../shared/data/video"
import pytest
from opusclip.understand.vision import analyse_frames

FACES = [f'retalking_face_{i}.mp4' for i in range(1, 6)]

@pytest.mark.parametrize('name', FACES)
def test_faces_found_on_talking_heads(shared, references, name):
    fa = analyse_frames(str(shared / 'video' / name), fps=4)
    assert fa.face_presence >= 0.9, fa.face_presence
    xs = sorted(f[0][0] for f in fa.faces if f)
    assert abs(xs[len(xs) // 2] - references['video'][name]['median_face_cx']) <= 0.08, xs[len(xs) // 2]
    assert fa.cuts == []

def test_no_face_on_the_screen_recording(shared):
    fa = analyse_frames(str(shared / 'video' / 'auto_editor_example.mp4'), fps=2)
    assert fa.face_presence <= 0.05 and fa.cuts == []

def test_scene_cuts_in_the_multi_shot_clip(shared):
    "Shots: a face at cx 0.86-0.78 (t 1-1.5 s), a face at cx 0.31-0.46 (4-7.5 s), an audience (8-9.5 s)"
    fa = analyse_frames(str(shared / 'video' / 'short_hamilton_clip.mp4'), fps=4)
    assert min(b - a for a, b in zip(fa.times, fa.times[1:])) >= 0.1 and len(fa.times) <= 4 * 10 + 1   # 4 a second, though the video starts at 0.85 s
    assert any(1.5 <= t <= 4.0 for t in fa.cuts) and any(7.5 <= t <= 8.25 for t in fa.cuts), fa.cuts
    middle = [f[0][0] for t, f in zip(fa.times, fa.faces) if 4.0 <= t <= 7.5 and f]
    audience = [b[0] for t, f in zip(fa.times, fa.faces) if 8.0 <= t <= 9.5 for b in f]
    assert len(middle) >= 3 and all(0.25 <= x <= 0.55 for x in middle), middle
    assert audience and all(x < 0.35 for x in audience), audience

def test_keyframe_mode_agrees_on_the_real_videos(shared):
    "The fast whole-video mode the pipeline uses: faces on the talking heads, none on the screen recording, the multi-shot cuts"
    for name in FACES:
        assert analyse_frames(str(shared / 'video' / name), keyframes=True).face_presence >= 0.9, name
    screen = analyse_frames(str(shared / 'video' / 'auto_editor_example.mp4'), keyframes=True)
    assert len(screen.times) >= 15 and screen.face_presence == 0.0 and screen.cuts == []
    multi = analyse_frames(str(shared / 'video' / 'short_hamilton_clip.mp4'), keyframes=True)
    assert any(1.5 <= t <= 4.0 for t in multi.cuts) and any(7.5 <= t <= 8.25 for t in multi.cuts), multi.cuts
    assert 0 < multi.face_presence < 1
