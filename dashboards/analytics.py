"""opusclip analytics dashboard. What was produced and how well it scores: KPIs, score and sub-score distributions, categories and emotions, clip length against score, and the top clips with a player; filtered by date, source, category and score (pushed into SQL).

Serve it with `opusclip dashboard analytics --catalog opusclip.duckdb` (or `panel serve dashboards/analytics.py` with $OPUSCLIP_CATALOG set);
in JupyterLab, `from opusclip.apps.pages import app; app('analytics', 'opusclip.duckdb')` displays the same view inline."""
import panel as pn
from opusclip.apps.pages import page

if pn.state.served: page('analytics').servable()
