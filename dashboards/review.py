"""opusclip review dashboard. Each video's clips with player, transcript, score breakdown and reason: approve, reject, star, retitle, hashtags and notes (written to the clip_feedback table of <catalog>.feedback.duckdb), and an export of the approved clips.

Serve it with `opusclip dashboard review --catalog opusclip.duckdb` (or `panel serve dashboards/review.py` with $OPUSCLIP_CATALOG set);
in JupyterLab, `from opusclip.apps.pages import app; app('review', 'opusclip.duckdb')` displays the same view inline."""
import panel as pn
from opusclip.apps.pages import page

if pn.state.served: page('review').servable()
