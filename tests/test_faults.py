"""Fault injection: the whole batch SIGKILLed at crash points in a job's kernel and in the coordinator, during a rerun
into the same folders; after `--resume` every job is done once and nothing is orphaned. The 20-point campaign is
`opusclip.lab.faults.crash_campaign`, run by the benchmark (docs/benchmarks.md)"""
from opusclip.lab.faults import crash_campaign


def test_sigkill_at_crash_points_then_resume(tmp_path, pieces):
    res = crash_campaign(str(pieces / 'talk[6-7].mp4'), str(tmp_path), trials=2, seed=2, points=('publish', 'ingest'))
    assert [r['point'] for r in res] == ['publish', 'ingest'], res
    for r in res:
        assert r['killed'] and r['earlier_outputs_kept'] and r['problems'] == [], r
    assert res[-1]['scratch_left'] == 0, res
