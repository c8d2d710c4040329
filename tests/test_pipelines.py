"papermill pipelines executed as users run them, asserting on outputs and on the run record"
import json
import nbformat, papermill as pm
from conftest import ROOT, query

def test_evaluate_selection_notebook_on_the_synthetic_set(tmp_path):
    """The synthetic set, a regression check: voices, fillers and pauses do not tell good from bad there, so the picks rest on what
    is said. Nearly every top clip lies in a good segment, most hit one whole (precision@3; the 0.8 target is not met since
    pauses stopped marking the segments), no clip is cut inside a word; rows in the catalog and the report with its cues"""
    out = tmp_path / 'evaluate_selection.ipynb'; cat = tmp_path / 'opusclip.duckdb'; docs = tmp_path / 'evaluation.md'
    params = dict(catalog=str(cat), docs=str(docs))
    pm.execute_notebook(str(ROOT / 'pipelines' / 'evaluate_selection.ipynb'), str(out), parameters=params, cwd=str(ROOT), kernel_name='python3')
    nb = nbformat.read(str(out), as_version=4)
    assert nb.metadata.papermill.parameters == params and nb.metadata.papermill.exception is None
    m = dict(query(str(cat), "SELECT metric, value FROM evaluations WHERE name = 'moment selection'"))
    assert m['top_clips_in_good_segments'] >= 0.9 and m['precision@3'] >= 0.55 and m['cuts_inside_words'] == 0, m
    per_talk = json.loads(query(str(cat), "SELECT details FROM evaluations WHERE metric = 'precision@3'")[0][0])
    assert len(per_talk) >= 20
    text = docs.read_text()
    assert '| precision@3 >= 0.8 |' in text and '## Surface cues' in text and '| fillers per 100 words spoken |' in text
