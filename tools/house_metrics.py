"""Measure the house plan (issue 15): exported-cell sizes, the share of exported cells followed at once by a test
cell, the longest module, and lines over the length limit. Run from the repository root:

    .venv/bin/python tools/house_metrics.py
"""
import json, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 120


def cells(nb: Path) -> list[tuple[str, str]]:
    "`(kind, source)` of each cell: kind is 'export', 'test' (other code) or 'markdown'"
    out = []
    for c in json.loads(nb.read_text())['cells']:
        s = ''.join(c['source'])
        if c['cell_type'] != 'code': out.append(('markdown', s))
        elif s.lstrip().startswith(('#| export', '#|export')): out.append(('export', s))
        elif s.startswith(('#| default_exp', '#| hide')) or not s.strip(): out.append(('header', s))
        else: out.append(('test', s))
    return out


def code_lines(src: str) -> int:
    "Lines of an exported cell, without its directive"
    return sum(1 for line in src.splitlines() if line.strip() and not line.startswith('#|'))


def measure() -> dict:
    sizes, followed, total = [], 0, 0
    for nb in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        cs = cells(nb)
        for i, (kind, s) in enumerate(cs):
            if kind != 'export' or s.count('\n') < 1 and 'import' in s: continue
            if i <= 2 and ('import ' in s): continue          # the notebook's import cell
            total += 1; sizes.append(code_lines(s))
            followed += i + 1 < len(cs) and cs[i + 1][0] == 'test'
    mods = {p: len(p.read_text().splitlines()) for p in (ROOT / 'opusclip').rglob('*.py') if p.name != '_modidx.py'}
    longest = max(mods, key=mods.get)
    long_lines = sum(len(line) > LIMIT for nb in (ROOT / 'nbs').rglob('*.ipynb') for k, s in cells(nb)
                     if k != 'markdown' for line in s.splitlines())  # code the notebooks hold (nbdev adds `__all__`)
    q = statistics.quantiles(sizes, n=10)
    return dict(cells=total, median=statistics.median(sizes), p90=q[8], over_25=sum(s > 25 for s in sizes), largest=max(sizes),
                followed_by_test=round(followed / total, 3), longest_module=str(longest.relative_to(ROOT)),
                longest_module_lines=mods[longest], modules_over_400=sum(n > 400 for n in mods.values()),
                lines_over_limit=long_lines)


if __name__ == '__main__':
    json.dump(measure(), sys.stdout, indent=1); print()
