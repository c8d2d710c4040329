"""Rebuild a transformers Whisper checkpoint from a CTranslate2 Whisper model.bin.

No model hub is reachable here, yet the transformers backend must be tested on a real model loaded
from a local path. The packaged Whisper base (CTranslate2, float16) holds every weight of the
original, so this reads its documented binary format (ctranslate2/specs/model_spec.py: save) and
writes the same weights under transformers' names: fused QKV projections are split back apart and
the key projection's (zero) bias dropped. Test helper only; users with a network load hub ids.
"""
import json, os, struct
import numpy as np

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}

def read_ct2(path):
    "`{name: ndarray}` of the variables in a CTranslate2 model.bin"
    with open(path, 'rb') as f:
        rd = lambda fmt: struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
        def string(): n = rd('H'); return f.read(n)[:-1].decode()
        version = rd('I')
        assert version >= 5, f'unsupported CTranslate2 binary version {version}'
        string(); rd('I'); out = {}
        for _ in range(rd('I')):
            name = string(); shape = [rd('I') for _ in range(rd('B'))]; dt = rd('B'); nb = rd('I')
            out[name] = np.frombuffer(f.read(nb), dtype=_DTYPES[dt]).reshape(shape)
        for _ in range(rd('I')): alias, target = string(), string(); out[alias] = out[target]
    return out

def _attn(sd, dst, v, src, fused_qkv):
    if fused_qkv:
        w, b = np.split(v[f'{src}/linear_0/weight'], 3), np.split(v[f'{src}/linear_0/bias'], 3)
        for i, p in enumerate('qkv'):
            sd[f'{dst}.{p}_proj.weight'] = w[i]
            if p != 'k': sd[f'{dst}.{p}_proj.bias'] = b[i]
        out = 'linear_1'
    else:  # cross-attention: query from linear_0, fused key/value in linear_1
        sd[f'{dst}.q_proj.weight'], sd[f'{dst}.q_proj.bias'] = v[f'{src}/linear_0/weight'], v[f'{src}/linear_0/bias']
        (kw, vw), (_, vb) = np.split(v[f'{src}/linear_1/weight'], 2), np.split(v[f'{src}/linear_1/bias'], 2)
        sd[f'{dst}.k_proj.weight'], sd[f'{dst}.v_proj.weight'], sd[f'{dst}.v_proj.bias'] = kw, vw, vb
        out = 'linear_2'
    sd[f'{dst}.out_proj.weight'], sd[f'{dst}.out_proj.bias'] = v[f'{src}/{out}/weight'], v[f'{src}/{out}/bias']

def _ln(sd, dst, v, src): sd[f'{dst}.weight'], sd[f'{dst}.bias'] = v[f'{src}/gamma'], v[f'{src}/beta']

def _ffn(sd, dst, v, src):
    _ln(sd, f'{dst}.final_layer_norm', v, f'{src}/ffn/layer_norm')
    for i, n in ((0, 'fc1'), (1, 'fc2')):
        sd[f'{dst}.{n}.weight'], sd[f'{dst}.{n}.bias'] = v[f'{src}/ffn/linear_{i}/weight'], v[f'{src}/ffn/linear_{i}/bias']

def convert(ct2_dir, out_dir):
    "Write a transformers Whisper checkpoint (config, weights, tokenizer, feature extractor) to `out_dir`"
    import torch
    from transformers import (WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizerFast,
                              WhisperFeatureExtractor, GenerationConfig)
    v = read_ct2(os.path.join(ct2_dir, 'model.bin')); cfg_ct2 = json.load(open(os.path.join(ct2_dir, 'config.json')))
    layers = lambda side: len({k.split('/')[1] for k in v if k.startswith(f'{side}/layer_') and k.split('/')[1][6:].isdigit()})
    n_enc, n_dec = layers('encoder'), layers('decoder')
    d_model = v['encoder/conv1/bias'].shape[0]; heads = int(v['encoder/num_heads'])
    vocab = v['decoder/embeddings/weight'].shape[0]
    sd = {}
    for k in ('conv1', 'conv2'):
        sd[f'model.encoder.{k}.weight'], sd[f'model.encoder.{k}.bias'] = v[f'encoder/{k}/weight'], v[f'encoder/{k}/bias']
    sd['model.encoder.embed_positions.weight'] = v['encoder/position_encodings/encodings']
    _ln(sd, 'model.encoder.layer_norm', v, 'encoder/layer_norm')
    for i in range(n_enc):
        s, d = f'encoder/layer_{i}', f'model.encoder.layers.{i}'
        _ln(sd, f'{d}.self_attn_layer_norm', v, f'{s}/self_attention/layer_norm')
        _attn(sd, f'{d}.self_attn', v, f'{s}/self_attention', True); _ffn(sd, d, v, s)
    sd['model.decoder.embed_tokens.weight'] = v['decoder/embeddings/weight']
    sd['model.decoder.embed_positions.weight'] = v['decoder/position_encodings/encodings']
    _ln(sd, 'model.decoder.layer_norm', v, 'decoder/layer_norm')
    for i in range(n_dec):
        s, d = f'decoder/layer_{i}', f'model.decoder.layers.{i}'
        _ln(sd, f'{d}.self_attn_layer_norm', v, f'{s}/self_attention/layer_norm')
        _attn(sd, f'{d}.self_attn', v, f'{s}/self_attention', True)
        _ln(sd, f'{d}.encoder_attn_layer_norm', v, f'{s}/attention/layer_norm')
        _attn(sd, f'{d}.encoder_attn', v, f'{s}/attention', False); _ffn(sd, d, v, s)
    tok = WhisperTokenizerFast(tokenizer_file=os.path.join(ct2_dir, 'tokenizer.json'))
    special = dict(decoder_start_token_id=tok.convert_tokens_to_ids('<|startoftranscript|>'),
                   eos_token_id=tok.convert_tokens_to_ids('<|endoftext|>'), pad_token_id=tok.convert_tokens_to_ids('<|endoftext|>'),
                   bos_token_id=tok.convert_tokens_to_ids('<|endoftext|>'))
    config = WhisperConfig(vocab_size=vocab, d_model=d_model, encoder_layers=n_enc, decoder_layers=n_dec,
                           encoder_attention_heads=heads, decoder_attention_heads=int(v['decoder/num_heads']),
                           encoder_ffn_dim=v['encoder/layer_0/ffn/linear_0/bias'].shape[0], decoder_ffn_dim=v['decoder/layer_0/ffn/linear_0/bias'].shape[0],
                           num_mel_bins=v['encoder/conv1/weight'].shape[1], max_source_positions=v['encoder/position_encodings/encodings'].shape[0],
                           max_target_positions=v['decoder/position_encodings/encodings'].shape[0], **special)
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.array(a, dtype=np.float32)) for k, a in sd.items()}, strict=False)
    assert not unexpected and all(m == 'proj_out.weight' for m in missing), (missing, unexpected)
    model.tie_weights()
    langs = {tok.convert_ids_to_tokens(i): i for i in cfg_ct2['lang_ids']}
    model.generation_config = GenerationConfig(
        **special, max_length=config.max_target_positions, is_multilingual=True, lang_to_id=langs,
        task_to_id={'transcribe': tok.convert_tokens_to_ids('<|transcribe|>'), 'translate': tok.convert_tokens_to_ids('<|translate|>')},
        no_timestamps_token_id=tok.convert_tokens_to_ids('<|notimestamps|>'), prev_sot_token_id=tok.convert_tokens_to_ids('<|startofprev|>'),
        suppress_tokens=cfg_ct2['suppress_ids'], begin_suppress_tokens=cfg_ct2['suppress_ids_begin'],
        alignment_heads=cfg_ct2['alignment_heads'], max_initial_timestamp_index=50, return_timestamps=False)
    model.save_pretrained(out_dir); tok.save_pretrained(out_dir)
    WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(out_dir)
    return out_dir
