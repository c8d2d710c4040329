"""Turn long videos into short, captioned, vertical clips ranked by how likely they are to perform

Modules:

- `opusclip.api.automation`: Workflows run by the server: their triggers watched (folders, schedules, alerts), their actions run, every run and every delivery recorded in the catalog.
- `opusclip.lab.api_load`: Many clients polling the read endpoints of a live `opusclip serve` while jobs run: latency, errors, and that every job ran once."""

__version__ = "0.1.0"
