"""Turn long videos into short, captioned, vertical clips ranked by how likely they are to perform

Modules:

- `opusclip.lab.benchmark`: Per-stage wall time, real-time factor and peak memory of `opusclip clip`, each next to a plain PyAV baseline measured in the same run on the same file.
- `opusclip.lab.demo`: Builds talking-head videos from real faces and synthetic narration: the bundled demo and the ten-minute benchmark input, deterministically.
- `opusclip.lab.evaluate`: A labelled set of synthetic long talks (hooked stories, tips and emotional peaks between filler and small talk), and the measures that say whether the selector finds the good moments.
- `opusclip.produce.captions`: Word-timed captions burned into the picture: lines broken at phrase boundaries, presets (karaoke highlight, one-word pop, minimal), keyword colours, emoji, a position clear of the face, any TTF font, and brand presets in JSON with a logo.
- `opusclip.produce.timeline`: Each clip's edit as a timeline an editor opens: OpenTimelineIO JSON, and FCP 7 XML (which Premiere Pro, DaVinci Resolve and Final Cut Pro 7 import), built with OpenTimelineIO.
- `opusclip.run.pipeline`: Wires the stages for `opusclip transcribe` and `opusclip clip`: parameters checked, stages timed and cached, progress shown, results written to the output folder and the catalog all-or-nothing.
- `opusclip.understand.score`: An explainable 0-100 score from four sub-scores (hook, coherence, connection, trend), each built from named features whose contributions are kept, and a one-sentence reason; a pluggable `Scorer`.
- `opusclip.understand.segment`: Sentences from word timings, candidate clip windows on sentence boundaries, a placeholder score, and non-overlapping picks with tight, word-safe cut points.
- `opusclip.understand.select`: Sentences, topics, candidates, features and scores put together: the ranked, non-overlapping, topic-diverse clips with their analysis, title, hashtags and description."""

__version__ = "0.1.0"
