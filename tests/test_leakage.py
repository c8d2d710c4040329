"""No feature word list or prototype may echo the material that judges the selector, or the demo it is shown on.

A phrase in a hook list or a prototype sentence that also occurs in the evaluation set or the demo's
narration makes the selector look better there than it is (issue 16). This test fails when any phrase
a feature regex can match, any word-list entry, or any prototype sentence shares a run of three or more
words with that material.
"""
import json, re
import re._parser as sp
from conftest import ROOT
from opusclip.understand import analysis, reaction_score, score, segment
from opusclip.lab.demo import TOPICS, EXTRA_TOPICS

REGEXES = {f'score.{n}': getattr(score, n) for n in ('_BOLD', '_CURIOUS', '_NUMBER', '_STORY', '_HUMOUR')}
REGEXES['analysis._HEDGES'] = analysis._HEDGES
REGEXES.update({f'reaction_score.{n}': getattr(reaction_score, n).pattern for n in ('_CONTRAST', '_LIST3')})
LISTS = {'score._WEAK': score._WEAK, 'score._DANGLING': score._DANGLING, 'segment.WEAK_OPENERS': segment.WEAK_OPENERS,
         **{f'analysis.{n}[{k}]': v for n in ('EMOTIONS', 'GENRES', 'VALUE') for k, v in getattr(analysis, n).items()},
         **{f'reaction_score.{n}': sorted(getattr(reaction_score, n)) for n in ('_FIRST_PERSON', '_COLLECTIVE')}}


def expand(pattern: str, limit: int = 20000) -> list[str]:
    "Every string a finite regex of literals, alternations and optional parts matches (`+` taken once)"
    def walk(items):
        outs = ['']
        for op, av in items:
            if op is sp.LITERAL: alts = [chr(av)]
            elif op is sp.AT: alts = ['']
            elif op is sp.SUBPATTERN: alts = walk(av[3])
            elif op is sp.BRANCH: alts = [s for b in av[1] for s in walk(b)]
            elif op in (sp.MAX_REPEAT, sp.MIN_REPEAT): alts = ([''] if av[0] == 0 else []) + walk(av[2])
            elif op is sp.IN: alts = ['1'] if any(x[0] in (sp.CATEGORY, sp.NEGATE) for x in av) else [chr(av[0][1])]
            else: raise ValueError(f'{op} in {pattern!r}: extend expand()')
            outs = [a + b for a in outs for b in alts]
            assert len(outs) <= limit, pattern
        return outs
    return sorted(set(walk(sp.parse(pattern))))


def trigrams(text: str) -> set:
    w = re.findall(r"[a-z0-9']+", text.lower().replace('\u2019', "'"))
    return {tuple(w[i:i + 3]) for i in range(len(w) - 2)}


def features() -> dict[str, str]:
    out = {f'{k}: {p}': p for k, rx in REGEXES.items() for p in expand(rx)}
    out.update({f'{k}: {p}': p for k, v in LISTS.items() for p in v})
    return out


def material() -> dict[str, str]:
    "The synthetic selection set's segments and the demo's narration (the real set's texts join them when built here)"
    pool = json.loads((ROOT / 'pipelines' / 'selection_set' / 'pool.json').read_text())
    out = {f'selection_set.{kind}[{i}]': s if isinstance(s, str) else s['text'] for kind, v in pool.items() for i, s in enumerate(v)}
    out.update({f'demo narration {i}': text for i, (_, text) in enumerate(TOPICS + EXTRA_TOPICS)})
    return out


def test_expand_reads_the_feature_regexes():
    assert expand(r"\b(here'?s (why|how)|turns out)\b") == ["here's how", "here's why", 'heres how', 'heres why', 'turns out']
    assert 'the real reason' in expand(score._CURIOUS) and 'the reason' in expand(score._CURIOUS)
    assert len(features()) > 200 and len(material()) > 60


def test_no_feature_phrase_shares_three_words_with_evaluation_material_or_the_demo():
    mat = {k: trigrams(v) for k, v in material().items()}
    shared = [f'{f} <-> {m}: {" ".join(sorted(g & mg)[0])}' for f, text in features().items() if (g := trigrams(text))
              for m, mg in mat.items() if g & mg]
    assert not shared, '\n'.join(shared)


def test_the_check_catches_a_leak():
    "A phrase lifted from the demo's narration is caught"
    lifted = TOPICS[0][1].split('. ')[1]
    assert any(trigrams(lifted) & trigrams(t) for t in material().values())
