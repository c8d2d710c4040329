"""`opusclip admin` as an operator runs it: organisations, users, roles and tokens from a shell, each change one audit
row, and `audit verify` catching an edited or removed row"""
import os, subprocess
import duckdb, pytest
from conftest import opusclip_exe

@pytest.fixture
def admin(tmp_path):
    cat = str(tmp_path / 'opusclip.duckdb')
    def run(*args, stdin=''):
        return subprocess.run(opusclip_exe() + ['admin', *map(str, args), '--catalog', cat], input=stdin,
                              capture_output=True, text=True, timeout=120)
    run.identity = str(tmp_path / 'opusclip.identity.duckdb')
    return run

def audit_rows(path):
    with duckdb.connect(path, read_only=True) as con:
        return con.execute("SELECT action, object, actor, outcome FROM audit ORDER BY seq").fetchall()

def test_operator_session_each_change_one_audit_row(admin):
    for args, stdin in [(('org', 'create', 'acme'), ''), (('user', 'create', 'ana', '--password-stdin'), 'correct horse battery\n'),
                        (('user', 'add-to', 'acme', 'ana', '--role', 'editor'), ''), (('user', 'passwd', 'ana', '--password-stdin'), 'a new long passphrase\n')]:
        r = admin(*args, stdin=stdin)
        assert r.returncode == 0, r.stderr
    r = admin('token', 'create', '--org', 'acme', '--user', 'ana', '--scope', 'write', '--label', 'phone')
    token = r.stdout.strip()
    assert r.returncode == 0 and token.startswith('oc_') and 'not shown again' in r.stderr
    tid = token.split('_')[1]
    assert token not in admin('token', 'list', '--org', 'acme').stdout and tid in admin('token', 'list', '--org', 'acme').stdout
    assert admin('token', 'revoke', tid).returncode == 0
    assert admin('user', 'list', '--org', 'acme').stdout.splitlines()[1].split()[:2] == ['ana', 'editor']
    rows = audit_rows(admin.identity)
    assert [(a, o) for a, o, *_ in rows] == [('org.create', 'acme'), ('user.create', 'ana'), ('member.set', 'acme/ana'),
                                            ('user.password', 'ana'), ('token.create', tid), ('token.revoke', tid)]
    assert all(actor.startswith('cli:') and outcome == 'ok' for *_, actor, outcome in rows)
    with duckdb.connect(admin.identity, read_only=True) as con:         # no password or token in the clear
        stored = ' '.join(map(str, con.execute("SELECT * FROM users").fetchall() + con.execute("SELECT * FROM tokens").fetchall()))
    assert 'correct horse' not in stored and token not in stored and '$argon2id$' in stored
    r = admin('audit', 'verify')
    assert r.returncode == 0 and 'audit trail intact: 6 rows' in r.stdout

@pytest.mark.parametrize('tamper, says', [
    ("UPDATE audit SET actor = 'someone else' WHERE seq = 2", 'row 2 was edited'),
    ("DELETE FROM audit WHERE seq = 2", 'does not follow'),
    ("DELETE FROM audit WHERE seq = 3", 'rows at the end were removed'),
])
def test_audit_verify_catches_an_edited_or_removed_row(admin, tamper, says):
    admin('org', 'create', 'acme'); admin('org', 'create', 'globex'); admin('org', 'create', 'initech')
    assert admin('audit', 'verify').returncode == 0
    with duckdb.connect(admin.identity) as con:
        con.execute(tamper)
    r = admin('audit', 'verify')
    assert r.returncode == 1 and says in r.stderr and 'TAMPERED' in r.stdout

@pytest.mark.parametrize('args, says', [
    (('org', 'create', "acme'; DROP TABLE users; --"), 'lower-case letters'),
    (('org', 'create', 'A' * 300), 'lower-case letters'),
    (('user', 'add-to', 'nowhere', 'ana', '--role', 'admin'), "no organisation 'nowhere'"),
    (('token', 'create', '--org', 'acme', '--user', 'ghost'), "no user 'ghost'"),
    (('token', 'create', '--org', 'acme', '--user', 'ana', '--days', '0'), 'at most 3650 days'),
    (('token', 'revoke', 'nosuchtoken'), "no token 'nosuchtoken'"),
    (('user', 'create', 'bo'), '--password-stdin'),
])
def test_bad_admin_input_is_one_line_and_changes_nothing(admin, args, says):
    admin('org', 'create', 'acme'); admin('user', 'create', 'ana', '--password-stdin', stdin='correct horse battery\n')
    before = audit_rows(admin.identity)
    r = admin(*args)
    assert r.returncode == 2 and says in r.stderr and 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert audit_rows(admin.identity) == before
