"""SIGKILL a batch at random crash points, then --resume, and check what it left (opusclip.lab.faults).

    python tools/crash_campaign.py [TRIALS] [SEED]      # 21 trials (each point three times), seed 7

Two 13-s pieces of the bundled demo, rerun into the same folders with new options at each trial. Prints one JSON
line per trial and a summary; exits 1 if any trial left a problem."""
import argparse, json, sys, tempfile, time
from opusclip.lab.batch_bench import demo_pieces
from opusclip.lab.faults import crash_campaign

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trials', type=int, nargs='?', default=21)
    ap.add_argument('seed', type=int, nargs='?', default=7)
    trials, seed = vars(ap.parse_args()).values()
    wd = tempfile.mkdtemp(prefix='opusclip-campaign-')
    demo_pieces(wd + '/pieces', 2)
    t = time.time()
    res = crash_campaign(wd + '/pieces/talk[0-1].mp4', wd + '/w', trials=trials, seed=seed)
    for r in res:
        print(json.dumps(r), flush=True)
    killed = [r for r in res if r['killed']]
    bad = [r for r in res if r['problems'] or not r['earlier_outputs_kept']]
    print(f"{len(res)} trials in {time.time() - t:.0f} s: {len(killed)} killed at "
          f"{', '.join(sorted({r['point'] for r in killed}))}; {len(bad)} with problems; "
          f"{res[-1]['scratch_left'] if res else 0} scratch files left", flush=True)
    sys.exit(1 if bad else 0)
