"""opusclip monitoring dashboard. The job queue and its states, failures with their errors and run notebooks, throughput and real-time factors, the machine (CPU, memory, disk, GPU), alert rules with the alerts the server raised, and workflow runs and deliveries; refreshes live.

Serve it with `opusclip dashboard monitoring --catalog opusclip.duckdb` (or `panel serve dashboards/monitoring.py` with $OPUSCLIP_CATALOG set);
in JupyterLab, `from opusclip.apps.pages import app; app('monitoring', 'opusclip.duckdb')` displays the same view inline."""
import panel as pn
from opusclip.apps.pages import page

if pn.state.served: page('monitoring').servable()
