"""Generate the bad-media corpora the robustness tests run on (from the bundled demo, with PyAV; nothing downloaded).

    python tools/bad_media.py OUT

- OUT/malformed/: at least 100 files no one can clip: truncated at many offsets, header bytes fuzzed, other files
  under a video name, empty, no streams, no audio, huge declared dimensions, timestamps that loop.
- OUT/unusual/: valid videos at odd settings: 5, 12, 15 and 20 fps, a variable frame rate, odd sizes, turned upright.
"""
import random, shutil, sys
from fractions import Fraction
from pathlib import Path
import av, numpy as np

DEMO = Path(__file__).resolve().parents[1] / 'opusclip' / 'assets' / 'demo.mp4'


def piece(dest: Path, seconds: float = 12.0, fps=None, size=None, start: float = 2.0):
    "A few seconds of the demo, re-encoded (at `fps`, scaled to `size`)"
    from opusclip.media.cut import encode_segment
    if size is None:
        encode_segment(str(DEMO), start, start + seconds, str(dest), preset='ultrafast', max_height=240, fps=fps)
        return
    tmp = dest.with_suffix('.tmp.mp4')
    encode_segment(str(DEMO), start, start + seconds, str(tmp), preset='ultrafast', max_height=240, fps=fps)
    reencode(tmp, dest, size=size)
    tmp.unlink()


def reencode(src: Path, dest: Path, size=None, rotate: int = 0, vfr: bool = False, video=True, audio=True):
    "Copy `src` to `dest` re-encoding its video (scaled to `size`, variable frame rate) and keeping its audio"
    with av.open(str(src)) as i, av.open(str(dest), 'w') as o:
        vi, ai = i.streams.video[0], i.streams.audio[0]
        w, h = size or (vi.width, vi.height)
        if rotate:
            w, h = h, w
        vo = o.add_stream('libx264', rate=vi.average_rate) if video else None
        if vo is not None:
            vo.width, vo.height, vo.pix_fmt = w, h, 'yuv420p'
            vo.time_base = Fraction(1, 1000)
        ao = o.add_stream('aac', rate=ai.rate) if audio else None
        n = 0
        for frame in i.decode(*([vi] if video else []), *([ai] if audio else [])):
            if isinstance(frame, av.VideoFrame):
                n += 1
                if vfr and n % 3 == 0:                                  # drop every third frame: gaps in time
                    continue
                if rotate:                                              # a phone held upright: the picture turned
                    rgb = np.ascontiguousarray(np.rot90(frame.to_ndarray(format='rgb24')))
                    f = av.VideoFrame.from_ndarray(rgb, format='rgb24').reformat(width=w, height=h, format='yuv420p')
                else:
                    f = frame.reformat(width=w, height=h, format='yuv420p')
                f.pts, f.time_base = int(frame.time * 1000), Fraction(1, 1000)
                for p in vo.encode(f):
                    o.mux(p)
            else:
                frame.pts = None
                for p in ao.encode(frame):
                    o.mux(p)
        for s in (vo, ao):
            if s is not None:
                for p in s.encode():
                    o.mux(p)


def malformed(out: Path, good: Path, rng: random.Random) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    data, made = good.read_bytes(), []

    def add(name: str, b: bytes):
        (out / name).write_bytes(b)
        made.append(out / name)

    for k in range(50):                                                 # truncated at 50 offsets
        add(f'truncated-{k:02d}.mp4', data[: int(len(data) * (k + 0.5) / 51)])
    boxes = [i - 4 for i in range(len(data) - 4) if data[i:i + 4] in (b'moov', b'trak', b'mdia', b'minf', b'stbl',
                                                                          b'stsz', b'stco', b'stsc', b'stts', b'mdat')]
    for k in range(45):                                                 # header fuzzed: box sizes and tables
        b = bytearray(data)
        for at in rng.sample(boxes, min(3, len(boxes))):                # a size field set to nonsense
            b[at:at + 4] = rng.randrange(9, 2**32).to_bytes(4, 'big')
        for _ in range(32):
            b[rng.randrange(0, min(len(b), 8192))] = rng.randrange(256)
        for t in (i for i in range(len(data) - 4) if data[i:i + 4] == b'stsz'):  # sample sizes past the file's end
            n = int.from_bytes(data[t + 12:t + 16], 'big')
            for at in rng.sample(range(n), min(8, n)):
                b[t + 16 + 4 * at:t + 20 + 4 * at] = b'\x7f\xff\xff\xff'
        add(f'fuzzed-{k:02d}.mp4', bytes(b))
    add('empty.mp4', b'')
    add('text.mp4', b'This is a transcript, not a video.\n' * 200)
    add('html.mov', b'<!doctype html><html><body>404 Not Found</body></html>')
    add('zeros.mkv', bytes(200_000))
    add('random.webm', bytes(rng.randrange(256) for _ in range(200_000)))
    from PIL import Image
    Image.new('RGB', (64, 64), 'red').save(out / 'picture.mp4', format='JPEG'); made.append(out / 'picture.mp4')
    with av.open(str(out / 'no-streams.mp4'), 'w', format='mp4'):
        pass
    made.append(out / 'no-streams.mp4')
    reencode(good, out / 'no-audio.mp4', audio=False); made.append(out / 'no-audio.mp4')
    add('huge-dimensions.y4m', b'YUV4MPEG2 W65536 H65536 F25:1 Ip A1:1 C420jpeg\nFRAME\n' + bytes(4096))
    b = bytearray(data)                                                  # a duration of years in every header
    for box, at in ((b'mvhd', 20), (b'mdhd', 20), (b'tkhd', 24)):
        i = b.find(box)
        while i > 0:
            b[i + at:i + at + 4] = (2**32 - 1).to_bytes(4, 'big')
            i = b.find(box, i + 4)
    add('endless-duration.mp4', bytes(b))
    ts = out / 'piece.ts'                                               # two recordings glued: timestamps start over
    with av.open(str(good)) as i, av.open(str(ts), 'w', format='mpegts') as o:
        ins = [i.streams.video[0], i.streams.audio[0]]
        outs = {s.index: o.add_stream_from_template(s) for s in ins}
        for pkt in i.demux(*ins):
            if pkt.dts is not None:
                pkt.stream = outs[pkt.stream.index]
                o.mux(pkt)
    add('looping-timestamps.ts', ts.read_bytes() * 3)
    ts.unlink()
    return made


def unusual(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for fps in (5, 12, 15, 20):
        piece(out / f'{fps}fps.mp4', fps=fps); made.append(out / f'{fps}fps.mp4')
    base = out / 'base.tmp.mp4'
    piece(base)
    reencode(base, out / 'variable-rate.mp4', vfr=True); made.append(out / 'variable-rate.mp4')
    for name, size in (('small-176x98.mp4', (176, 98)), ('wide-640x112.mp4', (640, 112))):
        reencode(base, out / name, size=size); made.append(out / name)
    reencode(base, out / 'rotated-portrait.mp4', rotate=90); made.append(out / 'rotated-portrait.mp4')
    base.unlink()
    return made


def main(out: str, seed: int = 0) -> dict:
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    good = out / 'good.mp4'
    out.mkdir(parents=True)
    piece(good)
    res = dict(malformed=malformed(out / 'malformed', good, random.Random(seed)), unusual=unusual(out / 'unusual'))
    good.unlink()
    return res


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    r = main(sys.argv[1])
    print(f"{len(r['malformed'])} malformed, {len(r['unusual'])} unusual files in {sys.argv[1]}")
