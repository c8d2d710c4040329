"The transformers Whisper backend on a real checkpoint loaded from a local path (rebuilt from the packaged weights)"
import json
import pytest
from conftest import DEMO
from opusclip.media.decode import decode_audio
from opusclip.media.transcribe import get_transcriber, packaged_whisper_base
from opusclip.media.transcript import word_error_rate

@pytest.fixture(scope='session')
def hf_whisper(tmp_path_factory):
    pytest.importorskip('torch'); pytest.importorskip('transformers')
    from ct2_whisper import convert
    return convert(packaged_whisper_base(), str(tmp_path_factory.mktemp('hf-whisper-base')))

@pytest.fixture(scope='session')
def hf(hf_whisper): return get_transcriber('transformers', hf_whisper, device='cpu')

def test_short_speech_words_and_timing(hf, shared, references):
    t = hf.transcribe(decode_audio(str(shared / 'speech' / 'jfk.wav')))
    ref = references['speech']['jfk.wav']
    assert word_error_rate([ref['text']], [t.text]) <= 0.08, t.text
    am = next(w for w in t.words if w.word.strip(' ,.').lower() == 'americans')
    assert abs(am.start - ref['known_word_time']['Americans'][0]) <= 0.3, am
    assert t.language == 'en' and all(w.probability is None for w in t.words)

def test_long_form_has_no_chunk_seams(hf):
    "65 s of speech (two seams): Whisper's own sequential windows, no doubled or dropped words where 30 s windows meet"
    audio = decode_audio(str(DEMO))[: 65 * 16000]
    t = hf.transcribe(audio, language='en')
    ref = get_transcriber().transcribe(audio, language='en')   # faster-whisper, sequential long-form too
    assert t.words[-1].end > 55 and all(a.start <= b.start for a, b in zip(t.words, t.words[1:]))
    assert word_error_rate([ref.text], [t.text]) <= 0.10, (ref.text, t.text)
    toks = [w.word.strip().lower() for w in t.words]
    trigrams = [tuple(toks[i:i + 3]) for i in range(len(toks) - 2)]
    assert not any(trigrams[i] == trigrams[i + 3] for i in range(len(trigrams) - 3)), 'a run of words repeats back to back'

def test_cli_with_local_checkpoint(cli, hf_whisper, tmp_path, catalog):
    "The CLI on the demo's first 12 s (long-form transcription is the test above)"
    from opusclip.media.cut import encode_segment
    src = encode_segment(str(DEMO), 0.0, 12.0, str(tmp_path / 'demo12.mp4'), preset='ultrafast', max_height=240).path
    r = cli('transcribe', src, '-o', tmp_path / 'demo.json', '--backend', 'transformers', '--model', hf_whisper,
            '--device', 'cpu', '--language', 'en', '--catalog', catalog, '-q')
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / 'demo.json').read_text())
    assert d['backend'] == 'transformers' and 'pricing' in d['text'].lower() and d['segments'][0]['words'][0]['probability'] is None

def test_missing_local_model_is_a_clear_error(cli, tmp_path, catalog):
    r = cli('transcribe', DEMO, '-o', tmp_path / 'x.json', '--backend', 'transformers', '--model', tmp_path / 'no-model',
            '--device', 'cpu', '--catalog', catalog, '-q')
    assert r.returncode == 2 and r.stderr.startswith('opusclip: error: cannot load transformers model'), r.stderr
