"papermill pipelines executed as users run them, asserting on outputs and on the run record"
import json
import nbformat, papermill as pm
from conftest import DEMO, ROOT, query

def test_evaluate_selection_notebook_meets_the_targets(tmp_path):
    "The labelled set: precision@3 >= 0.8, >= 80% of hits start within 1 s, no clip cut inside a word; rows in the catalog"
    out = tmp_path / 'evaluate_selection.ipynb'; cat = tmp_path / 'opusclip.duckdb'; docs = tmp_path / 'evaluation.md'
    params = dict(catalog=str(cat), docs=str(docs))
    pm.execute_notebook(str(ROOT / 'pipelines' / 'evaluate_selection.ipynb'), str(out), parameters=params, cwd=str(ROOT), kernel_name='python3')
    nb = nbformat.read(str(out), as_version=4)
    assert nb.metadata.papermill.parameters == params and nb.metadata.papermill.exception is None
    m = dict(query(str(cat), "SELECT metric, value FROM evaluations WHERE name = 'moment selection'"))
    assert m['precision@3'] >= 0.8 and m['start_within_1s'] >= 0.8 and m['cuts_inside_words'] == 0, m
    per_talk = json.loads(query(str(cat), "SELECT details FROM evaluations WHERE metric = 'precision@3'")[0][0])
    assert len(per_talk) >= 20
    text = docs.read_text()
    assert '| precision@3 >= 0.8 |' in text and '**no**' not in text.split('## Ablation')[0]
