"Accuracy of the default model on real speech with reference transcripts (../shared/data/speech)"
import pytest
from opusclip.media.decode import decode_audio
from opusclip.media.transcribe import get_transcriber
from opusclip.media.transcript import word_error_rate

FILES = ['jfk.wav'] + [f'sense_and_sensibility_01_austen_64kb-{n}.wav' for n in ('0870', '0880', '0890', '0920', '0930')]

@pytest.fixture(scope='module')
def transcripts(shared):
    tr = get_transcriber()   # faster-whisper, packaged Whisper base, int8 on CPU
    return {f: tr.transcribe(decode_audio(str(shared / 'speech' / f))) for f in FILES}

def test_word_error_rate_of_default_model(transcripts, references):
    refs = [references['speech'][f]['text'] for f in FILES]
    hyps = [transcripts[f].text for f in FILES]
    wer = word_error_rate(refs, hyps)
    print(f'WER {wer:.4f} over {len(FILES)} files')
    assert wer <= 0.08, (wer, list(zip(refs, hyps)))

def test_word_timing_of_americans(transcripts, references):
    want = references['speech']['jfk.wav']['known_word_time']['Americans'][0]
    w = next(w for w in transcripts['jfk.wav'].words if w.word.strip(' ,.').lower() == 'americans')
    assert abs(w.start - want) <= 0.3, (w.start, want)
    assert transcripts['jfk.wav'].language == 'en'

def test_transcribe_cli_writes_json_srt_vtt(cli, shared, tmp_path, catalog):
    out = tmp_path / 'jfk.json'
    r = cli('transcribe', shared / 'speech' / 'jfk.flac', '-o', out, '--language', 'en', '--catalog', catalog, '-q')
    assert r.returncode == 0, r.stderr
    import json
    d = json.loads(out.read_text())
    assert set(d) >= {'language', 'duration', 'text', 'segments'} and d['language'] == 'en'
    words = [w for s in d['segments'] for w in s['words']]
    assert words and all(set(w) == {'word', 'start', 'end', 'probability'} for w in words)
    assert all(a['start'] <= b['start'] and w['start'] <= w['end'] for a, b, w in zip(words, words[1:], words))
    assert 'ask not what your country' in d['text'].lower()
    assert (tmp_path / 'jfk.srt').read_text().startswith('1\n00:00:')
    assert (tmp_path / 'jfk.vtt').read_text().startswith('WEBVTT')

def test_batched_inference_path_on_cpu(shared, references):
    "The batched pipeline used on GPU hosts (--batch-size > 1) gives the same words, here on the CPU"
    t = get_transcriber(batch_size=4, device='cpu').transcribe(decode_audio(str(shared / 'speech' / 'jfk.wav')), language='en')
    assert word_error_rate([references['speech']['jfk.wav']['text']], [t.text]) <= 0.08, t.text

def test_gpu_settings_resolve_without_a_gpu():
    from opusclip.media.transcribe import FasterWhisperTranscriber, resolve_device
    import ctranslate2
    gpu = ctranslate2.get_cuda_device_count() > 0
    assert resolve_device('auto') == ('cuda' if gpu else 'cpu')
    t = FasterWhisperTranscriber(device='cuda:0')        # nothing is loaded until transcribe()
    assert (t.device, t.compute_type) == ('cuda:0', 'float16') and 'float16' in t.model_id
    assert FasterWhisperTranscriber(device='cpu').compute_type == 'int8'

def test_cuda_requested_without_gpu_is_a_clear_error(cli, tmp_path, catalog):
    import ctranslate2
    if ctranslate2.get_cuda_device_count() > 0: pytest.skip('this machine has a GPU')
    from conftest import DEMO
    r = cli('transcribe', DEMO, '-o', tmp_path / 'x.json', '--device', 'cuda', '--catalog', catalog, '-q', '--no-cache')
    assert r.returncode == 2 and r.stderr.startswith("opusclip: error: cannot load Whisper model 'base' on cuda"), r.stderr
