"Engagement analytics end to end: platform exports through `opusclip engagement import`, forecasts through papermill"
import nbformat, papermill as pm
from conftest import ROOT, query

YT = ('Content,Video title,Video publish time,Views,Watch time (hours),Average view duration,Likes,Comments added,Shares\n'
      'abc123,How we sleep,"Nov 3, 2026",1.2K,2.5,0:00:21,40,3,2\n'
      'def456,Why memory fades,2026-11-04,"3,400",10,0:00:35,120,14,9\n'
      'ghi789,The one habit,2026-11-05,870,1,0:00:12,20,1,0\n')

def test_importing_the_same_export_twice_changes_nothing(cli, catalog, tmp_path):
    f = tmp_path / 'Table data.csv'; f.write_text(YT)
    r = cli('engagement', 'import', f, '--platform', 'youtube', '--as-of', '2026-11-20', '--catalog', catalog)
    assert r.returncode == 0, r.stderr
    assert '3 rows read, 3 new, 0 updated, 0 unchanged' in r.stderr
    first = query(catalog, "SELECT * FROM engagement ORDER BY post_id")
    assert [(x[1], x[10], x[14]) for x in first] == [('abc123', 1200, 9000.0), ('def456', 3400, 36000.0), ('ghi789', 870, 3600.0)]
    r = cli('engagement', 'import', f, '--platform', 'youtube', '--as-of', '2026-11-20', '--catalog', catalog)
    assert r.returncode == 0 and '3 rows read, 0 new, 0 updated, 3 unchanged' in r.stderr, r.stderr
    assert query(catalog, "SELECT * FROM engagement ORDER BY post_id") == first      # not a row, not a timestamp changed

def test_malformed_rows_are_listed_and_the_good_ones_imported(cli, catalog, tmp_path):
    f = tmp_path / 'tiktok.csv'
    f.write_text('Video link,Video title,Total views,Total likes,Date\n'
                 'https://www.tiktok.com/@me/video/111,a,100,5,2026-11-01\n'
                 'https://www.tiktok.com/@me/video/111,a,120,6,2026-11-02\n'
                 ',no link,50,1,2026-11-02\n'                                        # line 4: nothing names the post
                 'https://www.tiktok.com/@me/video/222,b,many,1,2026-11-02\n'         # line 5: not a number
                 'https://www.tiktok.com/@me/video/222,b,90,1,yesterday\n'            # line 6: not a date
                 'https://www.tiktok.com/@me/video/333,c,70,2,2026-11-02,extra\n'     # line 7: one field too many
                 '"https://www.tiktok.com/@me/video/444","d, with a comma",3.4K,2,2026-11-02\n'
                 'https://www.tiktok.com/@me/video/111,a,120,6,2026-11-02\n')         # line 9: repeats line 3
    r = cli('engagement', 'import', f, '--platform', 'tiktok', '--catalog', catalog)
    assert r.returncode == 1, r.stderr                   # some rows skipped: not a clean import
    lines = r.stderr.splitlines()
    assert '3 rows read, 3 new' in lines[0] and lines[1] == '5 rows skipped:', r.stderr
    assert lines[2:] == ['  line 4: no post id or URL', "  line 5: Total views 'many' is not a number", "  line 6: Date 'yesterday' is not a date",
                         '  line 7: 6 fields where the header has 5', '  line 9: repeats line 3 (post 111 on 2026-11-02)'], r.stderr
    assert query(catalog, "SELECT post_id, observed_at::VARCHAR, views FROM engagement ORDER BY 1, 2") == [
        ('111', '2026-11-01', 100), ('111', '2026-11-02', 120), ('444', '2026-11-02', 3400)]

def test_import_errors_are_one_line(cli, catalog, tmp_path):
    bad = tmp_path / 'video.mp4'; bad.write_bytes(b'\x00\x01\xff\xfe' * 100)
    cases = [(tmp_path / 'missing.csv', 'no such file'), (bad, 'not a text (CSV) file'),
             (tmp_path / 'empty.csv', 'the file is empty'), (tmp_path / 'noid.csv', 'no id or link column')]
    (tmp_path / 'empty.csv').write_text(''); (tmp_path / 'noid.csv').write_text('views,likes\n1,2\n')
    for path, msg in cases:
        r = cli('engagement', 'import', path, '--catalog', catalog)
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr, r.stderr
    r = cli('engagement', 'import', tmp_path / 'noid.csv', '--platform', 'vimeo', '--catalog', catalog)
    assert r.returncode == 2 and 'invalid choice' in r.stderr
    assert query(catalog, "SELECT count(*) FROM engagement") == [(0,)]

TIKTOK = ('#,claim_status,video_id,video_duration_sec,video_transcription_text,verified_status,author_ban_status,'
          'video_view_count,video_like_count,video_share_count,video_download_count,video_comment_count\n'  # a public dataset's header
          '1,claim,7017666017,59,first text,not verified,active,343296,19425,241,1,0\n'
          '"2,opinion,4014381136,32,""a text, with a comma"",verified,active,140877,77355,19034,1161,684"\n'  # quoted whole
          '3,claim,9859838091,31,third text,not verified,active,#N/A,#N/A,#N/A,#N/A,#N/A\n')

def test_export_with_prefixed_columns_and_no_date(cli, catalog, tmp_path):
    "video_view_count and the like are read as views...; without a date column the day must be given; re-import changes nothing"
    f = tmp_path / 'tiktok_dataset.csv'; f.write_text(TIKTOK)
    r = cli('engagement', 'import', f, '--platform', 'tiktok', '--catalog', catalog)
    assert r.returncode == 2 and 'pass --observed YYYY-MM-DD' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = cli('engagement', 'import', f, '--platform', 'tiktok', '--observed', '2026-11-30', '--catalog', catalog)
    assert r.returncode == 1 and '2 rows read, 2 new' in r.stderr, r.stderr                  # line 4 has no numbers
    assert 'columns kept as extra data (map one with --map FIELD=COLUMN): #, claim_status, video_transcription_text' in r.stderr
    assert '  line 4: no numbers' in r.stderr, r.stderr
    assert query(catalog, "SELECT post_id, views, likes, shares, comments, duration_s, observed_at::VARCHAR FROM engagement ORDER BY 1") == [
        ('4014381136', 140877, 77355, 19034, 684, 32.0, '2026-11-30'), ('7017666017', 343296, 19425, 241, 0, 59.0, '2026-11-30')]
    r = cli('engagement', 'import', f, '--platform', 'tiktok', '--observed', '2026-11-30', '--catalog', catalog)
    assert '2 rows read, 0 new, 0 updated, 2 unchanged' in r.stderr, r.stderr

def test_columns_named_by_hand(cli, catalog, tmp_path):
    f = tmp_path / 'mine.csv'; f.write_text('clip,hearts,day\nx1,7,2026-11-02\n')
    r = cli('engagement', 'import', f, '--catalog', catalog)
    assert r.returncode == 2 and 'no id or link column' in r.stderr and '--map post_id=COLUMN' in r.stderr, r.stderr
    r = cli('engagement', 'import', f, '--map', 'post_id=clip,likes=hearts', '--catalog', catalog)
    assert r.returncode == 0 and '1 rows read, 1 new' in r.stderr, r.stderr
    assert query(catalog, "SELECT post_id, likes, observed_at::VARCHAR FROM engagement") == [('x1', 7, '2026-11-02')]
    for args, msg in ((['--map', 'plays=hearts'], "'plays' is not a field"), (['--map', 'likes=Hearts'], "no column 'Hearts'"),
                      (['--map', 'likes'], 'is not FIELD=COLUMN'), (['--observed', 'yesterday'], 'give a date as YYYY-MM-DD')):
        r = cli('engagement', 'import', f, *args, '--catalog', catalog)
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr, r.stderr

def test_forecast_notebook_on_a_real_series(shared, tmp_path):
    "papermill run of evaluate_forecasts on one real series (short window): forecasts with intervals and the report section"
    out = tmp_path / 'evaluate_forecasts.ipynb'; cat = tmp_path / 'opusclip.duckdb'; docs = tmp_path / 'evaluation.md'
    docs.write_text('<!-- section:selection -->\n# Moment selection\n<!-- /section:selection -->\n')
    params = dict(series=str(shared / 'engagement' / 'prophet_example_wp_log_peyton_manning.csv'), horizon=30, window=90, warmup=1,
                  models='seasonal_naive,ets,prophet', catalog=str(cat), docs=str(docs))
    pm.execute_notebook(str(ROOT / 'pipelines' / 'evaluate_forecasts.ipynb'), str(out), parameters=params, cwd=str(ROOT), kernel_name='python3')
    nb = nbformat.read(str(out), as_version=4)
    assert nb.metadata.papermill.parameters == params and nb.metadata.papermill.exception is None
    fc = query(str(cat), "SELECT ds, yhat, yhat_lo, yhat_hi FROM forecasts WHERE series = 'wp_log_peyton_manning' ORDER BY ds")
    assert len(fc) == 30 and str(fc[0][0]) == '2016-01-21' and all(lo <= y <= hi and 5 < y < 12 for _, y, lo, hi in fc)
    m = dict(query(str(cat), "SELECT metric, value FROM evaluations WHERE name = 'forecast:wp_log_peyton_manning'"))
    assert set(m) == {'mape_seasonal_naive', 'mape_ets', 'mape_prophet', 'mape_auto'} and all(0 < v < 50 for v in m.values())
    text = docs.read_text()
    assert text.startswith('<!-- section:selection -->') and '| wp_log_peyton_manning | 2964 | as is |' in text

def test_learned_model_end_to_end(cli, tmp_path):
    "Synthetic clips with a known latent truth: import -> model train -> model activate -> held-out ranking beats the heuristic -> new scores in clips.json"
    import json
    from opusclip.run.catalog import Catalog
    from opusclip.lab.virality_eval import synthetic_set, holdout_spearman
    from conftest import DEMO, FAST
    catalog = str(tmp_path / 'opusclip.duckdb'); export = tmp_path / 'export.csv'
    syn = synthetic_set(Catalog(catalog), str(export), n=600, holdout=200, videos=60)
    r = cli('engagement', 'import', export, '--catalog', catalog)
    assert r.returncode == 0 and '600 rows read, 600 new' in r.stderr and '600 linked to clips' in r.stderr, r.stderr
    r = cli('model', 'train', '--catalog', catalog)
    assert r.returncode == 0, r.stderr
    model_id = r.stdout.strip()
    m = json.loads(query(catalog, "SELECT metrics FROM models WHERE model_id = ?", [model_id])[0][0])
    assert m['n'] == 600 and m['videos'] == 60 and m['spearman_cv'] > m['heuristic_spearman'] and m['blend_weight'] > 0.3, m
    assert query(catalog, "SELECT count(*) FROM models WHERE active") == [(0,)]
    r = cli('model', 'activate', model_id[:14], '--catalog', catalog)
    assert r.returncode == 0 and model_id in r.stderr, r.stderr
    from opusclip.run.identity import Identity                         # each audited once, by the command line's user
    trail = Identity(catalog).rows("SELECT action, object, actor FROM audit WHERE action LIKE 'model.%' ORDER BY seq")
    assert [(t['action'], t['object']) for t in trail] == [('model.train', model_id), ('model.activate', model_id)]
    assert all(t['actor'].startswith('cli:') for t in trail), trail
    r = cli('model', 'list', '--catalog', catalog, '--org', 'globex')  # another organisation has no models
    assert r.returncode == 0 and 'no models' in r.stdout, r.stdout
    rho, ho = holdout_spearman(Catalog(catalog), syn), syn[~syn.train]
    from scipy.stats import spearmanr                                  # the ranking of 200 clips it never saw, against the heuristic's
    assert rho > spearmanr(ho.score, ho.true_log_views).statistic + 0.03, rho
    out = tmp_path / 'clips'
    from opusclip.media.cut import encode_segment                     # the demo's first 45 s: enough for FAST's one clip
    src = encode_segment(str(DEMO), 0.0, 45.0, str(tmp_path / 'demo45.mp4'), preset='ultrafast').path
    r = cli('clip', src, '-o', out, '--catalog', catalog, '-q', *FAST)
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / 'clips.json').read_text())
    assert model_id in doc['video']['analysis']['scorer']
    for c in doc['clips']:
        s = c['scoring']
        assert s['model'] == model_id and s['weight'] == m['blend_weight'] and 0 <= s['learned'] <= 100
        assert abs(c['score'] - ((1 - s['weight']) * s['heuristic'] + s['weight'] * s['learned'])) <= 0.06, c
        assert set(c['analysis']['features']) >= {'hook_question', 'cohesion', 'duration_s'}
    # a batch job writes a scratch catalog with no registry: it is handed the active model as a parameter
    (tmp_path / 'm.csv').write_text(f'source\n{src}\n')
    r = cli('batch', tmp_path / 'm.csv', '-o', tmp_path / 'b', '--runs', tmp_path / 'runs', '--catalog', catalog, '--workers', '1', '-q', *FAST)
    assert r.returncode == 0, r.stderr
    clips = json.loads(next((tmp_path / 'b').rglob('clips.json')).read_text())['clips']
    assert clips and all(c['scoring']['model'] == model_id for c in clips), clips

def _channel_export(path, n=150, seed=3):
    "A channel whose posts do better at 18-21 h and when short (documented effects), weekday irrelevant"
    import math, numpy as np, pandas as pd
    rng = np.random.default_rng(seed); rows = []
    for i in range(n):
        length, hour = rng.uniform(10, 60), int(rng.integers(0, 24))
        v = math.exp(8 + 0.8 * (length < 30) + 0.7 * (18 <= hour <= 20) + rng.normal(0, 0.4))
        rows.append(dict(post_id=f's{i}', channel='the channel', date='2026-11-01', views=int(v), likes=int(v * 0.05), comments=int(v * 0.01),
                         posted_at=f'2026-10-{1 + i % 28:02d} {hour:02d}:10', duration=round(length, 1)))
    pd.DataFrame(rows).to_csv(path, index=False)

def test_engagement_report_recommends_only_what_the_evidence_supports(cli, catalog, tmp_path):
    _channel_export(tmp_path / 'channel.csv')
    assert cli('engagement', 'import', tmp_path / 'channel.csv', '--catalog', catalog).returncode == 0
    r = cli('engagement', 'report', '--catalog', catalog)
    assert r.returncode == 0, r.stderr
    assert 'the channel: 150 posts' in r.stdout and 'engagement rate 5.9' in r.stdout, r.stdout
    recs = [l.strip() for l in r.stdout.split('Recommendations:')[1].split('Clip segments')[0].splitlines() if l.strip().startswith('- ')]
    assert any(l.startswith('- Post between 18:00-20:59') for l in recs) and any(l.startswith('- Make clips of 15-30 s') for l in recs), recs
    assert not any(day in l for l in recs for day in ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday')), recs
    small = tmp_path / 'small.csv'; _channel_export(small, n=8, seed=4)
    other = str(tmp_path / 'other.duckdb')
    assert cli('engagement', 'import', small, '--catalog', other).returncode == 0
    r = cli('engagement', 'report', '--catalog', other)
    assert r.returncode == 0 and 'Not enough evidence yet (8 posts)' in r.stdout, r.stdout
    r = cli('engagement', 'report', '--catalog', str(tmp_path / 'empty.duckdb'))
    assert r.returncode == 2 and 'no engagement in' in r.stderr and 'Traceback' not in r.stderr
