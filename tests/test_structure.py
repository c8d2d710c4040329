"""The house plan (issue 15): subpackages in data-flow order, notebooks and modules one to one, no import cycles,
no hidden hand-offs through the environment, one option schema that every consumer follows."""
import ast, json, re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / 'opusclip'
ORDER = ['core', 'media', 'understand', 'produce', 'run', 'learn', 'apps', 'api', 'lab', 'cli']   # the flow of data, bottom up


def modules() -> dict[str, Path]:
    return {'.'.join(p.relative_to(ROOT).with_suffix('').parts): p for p in PKG.rglob('*.py')
            if p.name != '__init__.py' and not p.name.startswith('_')}


def imports(path: Path, top_level_only: bool) -> set[str]:
    "The opusclip modules `path` imports (at module level only, or anywhere)"
    mod = '.'.join(path.relative_to(ROOT).with_suffix('').parts)
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for n in nodes:
        if isinstance(n, ast.ImportFrom):
            base = n.module or ''
            if n.level:
                base = '.'.join(mod.split('.')[:-n.level] + ([base] if base else []))
            if base == 'opusclip': out |= {f'opusclip.{a.name}' for a in n.names if a.name != '__version__'}
            elif base.startswith('opusclip.'): out.add(base)
        elif isinstance(n, ast.Import):
            out |= {a.name for a in n.names if a.name.startswith('opusclip.')}
    return out


def test_notebooks_and_modules_match_one_to_one():
    nbs = {p.relative_to(ROOT / 'nbs') for p in (ROOT / 'nbs').rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.parts)}
    assert {p.parent.name for p in nbs} == set(ORDER)
    assert {p.name for p in PKG.iterdir() if p.is_dir() and (p / '__init__.py').exists()} == set(ORDER)
    for nb in nbs:
        first = ''.join(json.loads((ROOT / 'nbs' / nb).read_text())['cells'][0]['source'])
        exp = first.split()[-1]
        assert re.fullmatch(r'\d\d_\w+\.ipynb', nb.name), nb
        assert exp.split('.')[0] == nb.parent.name, f'{nb} exports {exp}, outside its folder'
        assert (PKG / Path(*exp.split('.'))).with_suffix('.py').exists(), exp


def test_imports_follow_the_flow_and_have_no_cycles():
    mods = modules()
    late = []
    for m, p in mods.items():
        here = ORDER.index(m.split('.')[1])
        for dep in imports(p, top_level_only=False):
            if dep.split('.')[1] in ORDER and ORDER.index(dep.split('.')[1]) > here: late.append(f'{m} imports {dep}')
    assert late == [], 'a stage imports a later one:\n' + '\n'.join(late)
    graph = {m: {d for d in imports(p, top_level_only=True) if d in mods} for m, p in mods.items()}
    seen, stack = set(), []
    def visit(m):
        if m in stack: raise AssertionError('import cycle: ' + ' -> '.join(stack[stack.index(m):] + [m]))
        if m in seen: return
        stack.append(m); [visit(d) for d in graph[m]]; stack.pop(); seen.add(m)
    for m in graph: visit(m)


def test_no_private_names_imported_across_modules():
    bad = [f'{m}: {a.name} from {n.module}' for m, p in modules().items() for n in ast.walk(ast.parse(p.read_text()))
           if isinstance(n, ast.ImportFrom) and (n.level or (n.module or '').startswith('opusclip'))
           for a in n.names if a.name.startswith('_') and a.name != '__version__']
    assert bad == []


def test_nothing_reaches_the_kernels_through_the_environment():
    "The coordinator hands jobs what they need as parameters: it never writes os.environ, and no module reads a hand-off variable"
    for m, p in modules().items():
        text = p.read_text()
        assert 'OPUSCLIP_ACTIVE_MODEL' not in text, m
        if not m.startswith('opusclip.run.'): continue   # library settings such as HF_HUB_OFFLINE are not hand-offs
        assert not re.search(r'os\.environ(\[[^\]]+\]\s*=(?!=)|\.update\(|\.setdefault\(|\.pop\()', text), f'{m} writes os.environ'


def test_library_modules_write_no_reports():
    "Markdown reports and synthetic data live in the lab"
    for m, p in modules().items():
        if m.split('.')[1] in ('lab', 'cli'): continue
        names = {n.name for n in ast.parse(p.read_text()).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert not {n for n in names if n.endswith('_markdown') or n.startswith(('synthetic_', 'benchmark_', 'evaluate_'))}, m


# one option schema ---------------------------------------------------------------------------------------------------

def test_pipeline_parameters_cell_follows_the_schema():
    from opusclip.run.schema import parameter_problems
    assert parameter_problems(str(ROOT / 'pipelines' / 'clip_video.ipynb')) == []


def test_every_option_is_on_the_command_line_with_the_schema_default():
    from dataclasses import fields
    from opusclip.cli.parser import build_parser
    from opusclip.run.options import ClipParams
    from opusclip.run.schema import options_from_args
    clip = build_parser().parse_args(['clip', 'x.mp4'])
    assert options_from_args(clip) == ClipParams()
    flags = {a.dest for a in build_parser()._subparsers._group_actions[0].choices['clip']._actions}
    assert {f.name for f in fields(ClipParams)} <= flags


def test_a_changed_default_reaches_cli_help_papermill_check_and_manifests(tmp_path):
    "Edit one default in the schema: the CLI help, the papermill cell check and manifest rows all see it"
    from opusclip.run.options import ClipParams, option
    from opusclip.run.schema import parameter_problems, json_schema
    from opusclip.cli.parser import build_parser
    from opusclip.run.jobs import read_manifest

    @dataclass
    class Edited(ClipParams):
        clips: int = option(7, 'how many clips at most', 'clips')

    clip = build_parser(Edited)._subparsers._group_actions[0].choices['clip']
    assert re.search(r'--clips CLIPS\s+how many clips at most \(default: 7\)', clip.format_help())
    assert clip.parse_args(['x.mp4']).clips == 7
    assert parameter_problems(str(ROOT / 'pipelines' / 'clip_video.ipynb'), Edited) == ['clips: 5 in the notebook, 7 in the schema']
    (tmp_path / 'a.mp4').write_bytes(b'')
    (tmp_path / 'm.csv').write_text(f'source,aspect\n{tmp_path / "a.mp4"},1:1\n')
    jobs, problems = read_manifest(str(tmp_path / 'm.csv'), Edited(), str(tmp_path / 'out'))
    assert problems == [] and jobs[0]['params']['clips'] == 7 and jobs[0]['params']['aspect'] == '1:1'
    assert json_schema(Edited)['properties']['clips']['default'] == 7
