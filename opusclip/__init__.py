"""Turn long videos into short, captioned, vertical clips ranked by how likely they are to perform

Modules:

- `opusclip.api.automation`: Workflows run by the server: their triggers watched (folders, schedules, alerts), their actions run, every run and every delivery recorded in the catalog."""

__version__ = "0.1.0"
