"""The dashboards as stakeholders use them: `opusclip dashboard` serving on a free loopback port, driven in the system
Chromium by Playwright, on a catalog written by a real `opusclip batch` (three short videos and a corrupt file)"""
import contextlib, json, os, re, shutil, ssl, subprocess, tempfile, time, urllib.error, urllib.request
import pytest
from conftest import ROOT, FAST, query, opusclip_exe
from opusclip.lab.api_load import free_port

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
DOCS = ROOT / 'docs'
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='needs the Debian chromium package (bash .ci/install --dev installs it)')

@contextlib.contextmanager
def served(catalog, app='all', auth=None, env=None, start_s=240, args=(), ca=None, port=None, cwd=None):
    "`opusclip dashboard` in a subprocess (`args`: more options; `ca`: served over TLS, verified with it); yields its base URL once it answers"
    port = port or free_port()
    args = ['dashboard', app, '--catalog', str(catalog), '--port', str(port)] + (['--auth', str(auth)] if auth else []) + list(args)
    log = tempfile.TemporaryFile('w+')            # a file, not a pipe: a pipe nobody reads fills up and blocks the server's logging
    p = subprocess.Popen(opusclip_exe() + args, stdout=log, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, **(env or {})), start_new_session=True, cwd=cwd)
    url = f"{'https' if ca else 'http'}://127.0.0.1:{port}"
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    def stop():                                   # stop the wrapper and panel serve under it, and wait until both are gone
        try:
            os.killpg(p.pid, 15); deadline = time.time() + 15
            while time.time() < deadline: p.poll(); os.killpg(p.pid, 0); time.sleep(0.1)     # poll() reaps the wrapper
            os.killpg(p.pid, 9)
        except ProcessLookupError: pass
        p.wait()
    try:
        deadline = time.time() + start_s          # importing Panel and the app takes minutes on a loaded 2-core machine
        while True:
            try: urllib.request.urlopen(url + '/', timeout=5, context=ctx).close(); break
            except urllib.error.HTTPError: break                       # it answers (a login redirect or a 404 at /)
            except OSError:
                if p.poll() is not None or time.time() > deadline:
                    stop(); log.seek(0)
                    raise RuntimeError(f'dashboard did not answer within {start_s} s:\n{log.read()[-3000:]}')
                time.sleep(0.3)
        yield url
    finally:
        stop(); log.close()

@pytest.fixture(scope='module')
def catalog(tmp_path_factory, pieces, cache_dir):
    "A real catalog: `opusclip batch` on three pieces of the demo and one truncated file (a failed job)"
    d = tmp_path_factory.mktemp('dash')
    bad = d / 'broken.mp4'; bad.write_bytes((pieces / 'talk2.mp4').read_bytes()[:20000])
    man = d / 'm.csv'; man.write_text('source,clips\n' + '\n'.join(f'{pieces}/talk{k}.mp4,2' for k in (0, 1, 3)) + f'\n{bad},\n')
    r = subprocess.run(opusclip_exe() + ['batch', man, '-o', d / 'clips', '--runs', d / 'runs', '--catalog', d / 'c.duckdb', '--workers', '2', *FAST[2:]],
                       capture_output=True, text=True, env=dict(os.environ, OPUSCLIP_CACHE=cache_dir), timeout=600)
    assert r.returncode == 1 and '3 succeeded, 1 failed' in r.stderr, r.stderr[-2000:]
    creds = d / 'creds.json'; creds.write_text(json.dumps({'alice': 'correct horse'}))
    return dict(path=str(d / 'c.duckdb'), creds=creds, dir=d, bad=bad)

@pytest.fixture(scope='module')
def chrome():
    "The system Chromium through Playwright (its own browser download does not work here)"
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        yield b
        b.close()

def login(page, url, user='alice', password='correct horse'):
    page.goto(url)
    page.fill('input[name="username"]', user); page.fill('input[name="password"]', password)
    page.click('button[type="submit"], input[type="submit"]')

def number(page, css, timeout=30):
    "The value shown by a Panel Number indicator (waiting for it to be drawn)"
    deadline = time.time() + timeout
    while True:
        txt = page.locator(f'{css} div').first.inner_text(timeout=30000).strip().split('\n')[-1]   # the number is drawn in the shadow root
        m = re.findall(r'-?[\d,]+\.?\d*', txt)
        if m: return float(m[0].replace(',', ''))
        if time.time() > deadline: raise AssertionError(f'{css} shows no number: {txt!r}')
        time.sleep(0.1)

def rows_text(page, css):
    "The text of a Tabulator's rows (drawn in a shadow root)"
    return '\n'.join(page.locator(f'{css} .tabulator-row').all_inner_texts())

def test_analytics_numbers_match_sql_and_filters_change_the_view(catalog, chrome):
    snap = catalog['path'][:-7] + '.snapshot.duckdb'
    want = query(snap, "SELECT count(DISTINCT video_id), count(*), round(avg(score), 1) FROM clips")[0]
    hours = query(snap, "SELECT sum(duration) / 3600 FROM videos WHERE video_id IN (SELECT video_id FROM clips)")[0][0]
    with served(catalog['path'], 'analytics', auth=catalog['creds']) as url:
        page = chrome.new_page(viewport={'width': 1400, 'height': 1600})
        login(page, url + '/analytics')
        page.wait_for_selector('.kpi-clips', timeout=60000)
        got = (number(page, '.kpi-videos'), number(page, '.kpi-clips'), number(page, '.kpi-mean'))
        assert got == (want[0], want[1], want[2]), (got, want)
        assert abs(number(page, '.kpi-hours') - hours) < 0.006
        rows = lambda: page.locator('.top-clips .tabulator-row').count()
        assert rows() == want[1]
        page.screenshot(path=str(DOCS / 'dashboard-analytics.png'), full_page=True)
        cats = query(snap, "SELECT category, count(*) FROM clips GROUP BY 1 ORDER BY 2, 1")
        target, n = cats[0]
        page.locator('.filter-category select').select_option(target)
        deadline = time.time() + 20
        while time.time() < deadline and (rows() != n or number(page, '.kpi-clips') != n): time.sleep(0.2)
        assert rows() == n and number(page, '.kpi-clips') == n, (target, n, rows())

def test_wrong_password_is_refused(catalog, chrome):
    with served(catalog['path'], 'analytics', auth=catalog['creds']) as url:
        page = chrome.new_page()
        login(page, url + '/analytics', password='wrong')
        page.wait_for_load_state()
        assert '/login' in page.url
        assert page.locator('.kpi-clips').count() == 0
        page.goto(url + '/analytics'); page.wait_for_load_state()
        assert '/login' in page.url
        r = urllib.request.urlopen(urllib.request.Request(url + '/analytics'))   # no cookie: the login page, not the app
        assert '/login' in r.geturl()

def test_monitoring_shows_the_failed_job_and_refreshes_live(catalog, chrome, pieces, cache_dir):
    with served(catalog['path'], 'monitoring') as url:
        page = chrome.new_page(viewport={'width': 1400, 'height': 1400})
        page.goto(url + '/monitoring')
        page.wait_for_selector('.jobs-failed', timeout=60000)
        assert number(page, '.jobs-failed') == 1 and number(page, '.jobs-succeeded') == 3
        page.get_by_text('MediaError').first.wait_for(timeout=20000)
        assert 'broken.mp4' in rows_text(page, '.failures')
        page.locator('.failures .tabulator-row').first.click()                        # its run notebook's error, in the page
        page.locator('.failure-detail').get_by_text('MediaError').first.wait_for(timeout=60000)
        page.screenshot(path=str(DOCS / 'dashboard-monitoring.png'), full_page=True)
        bad2 = catalog['dir'] / 'empty.mp4'; bad2.write_bytes(b'not a video at all')      # a second failure while the page is open
        r = subprocess.run(opusclip_exe() + ['batch', bad2, '--catalog', catalog['path'], '-o', catalog['dir'] / 'clips',
                                             '--runs', catalog['dir'] / 'runs', *FAST], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, OPUSCLIP_CACHE=cache_dir))
        assert r.returncode == 1
        deadline = time.time() + 60      # the page polls every few seconds; generous for a loaded CI machine
        while True:                      # judged on one reading of both, not on a second reading taken mid-redraw
            seen = number(page, '.jobs-failed'), rows_text(page, '.failures')
            if (seen[0] == 2 and 'empty.mp4' in seen[1]) or time.time() > deadline: break
            time.sleep(0.5)
        assert seen[0] == 2 and 'empty.mp4' in seen[1], seen   # no reload

def test_review_approve_writes_one_row_and_survives_reload(catalog, chrome):
    fb = catalog['path'][:-7] + '.feedback.duckdb'
    with served(catalog['path'], 'review') as url:
        page = chrome.new_page(viewport={'width': 1400, 'height': 1800})
        page.goto(url + '/review')
        card = page.locator('.clip-card').first
        card.wait_for(timeout=60000)
        card.locator('.review-approve button').click()
        card.get_by_text('Review: approved').wait_for(timeout=10000)
        page.screenshot(path=str(DOCS / 'dashboard-review.png'), full_page=True)
        page.reload()
        page.locator('.clip-card').first.get_by_text('Review: approved').wait_for(timeout=60000)
    rows = query(fb, "SELECT clip_id, action, status FROM clip_feedback")
    assert len(rows) == 1 and rows[0][1:] == ('approve', 'approved'), rows
    assert rows[0][0] in {r[0] for r in query(catalog['path'][:-7] + '.snapshot.duckdb', "SELECT clip_id FROM clips")}

def test_ten_concurrent_sessions_render(catalog, chrome):
    n = query(catalog['path'][:-7] + '.snapshot.duckdb', "SELECT count(*) FROM clips")[0][0]
    with served(catalog['path'], 'analytics') as url:
        pages = [chrome.new_context().new_page() for _ in range(10)]
        for p in pages: p.goto(url + '/analytics', wait_until='commit')
        for p in pages:
            p.wait_for_selector('.kpi-clips', timeout=90000)
            assert number(p, '.kpi-clips') == n
            assert p.locator('.top-clips .tabulator-row').count() == n
        for p in pages: p.context.close()

@pytest.mark.parametrize('case', ['missing', 'empty', 'old'])
def test_catalog_problems_are_shown_not_raised(tmp_path, chrome, case):
    import duckdb
    from opusclip.run.catalog import Catalog, MIGRATIONS
    path = tmp_path / 'c.duckdb'
    if case == 'empty': Catalog(str(path)).snapshot()
    if case == 'old':
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE schema_version(version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
            for stmt in filter(str.strip, MIGRATIONS[1].split(';')): con.execute(stmt)
            con.execute("INSERT INTO schema_version VALUES (1, now())")
    want = {'missing': 'No catalog at', 'empty': 'No clips in this catalog yet', 'old': 'older than this opusclip'}[case]
    with served(path, 'analytics') as url:
        page = chrome.new_page()
        page.goto(url + '/analytics')
        page.get_by_text(want).first.wait_for(timeout=60000)
        assert 'Traceback' not in page.content()

def test_engagement_tab_shows_imports_trends_forecast_and_model(catalog, chrome, tmp_path):
    "Analytics' Engagement tab: numbers equal SQL on the imported export, trends and a forecast drawn, no learned model active"
    import datetime as dt
    cat = tmp_path / 'eng.duckdb'; shutil.copy(catalog['path'], cat)
    clips = [r[0] for r in query(str(cat), "SELECT clip_id FROM clips ORDER BY clip_id")]
    rows = ['clip_id,post_id,channel,date,views,likes,comments,posted_at']
    for k, c in enumerate(clips):
        for i in range(120):
            day = dt.date(2026, 6, 1) + dt.timedelta(days=i)
            rows.append(f"{c},post{k},{'talks' if k % 2 else 'shorts'},{day},{(k + 1) * 500 * (i + 1) + 40 * (i % 7)},{(k + 1) * 20 * (i + 1)},{i},2026-06-01 18:00")
    (tmp_path / 'export.csv').write_text('\n'.join(rows) + '\n')
    env = dict(os.environ)
    for args in (['engagement', 'import', tmp_path / 'export.csv'], ['engagement', 'forecast', '--horizon', '14']):
        r = subprocess.run(opusclip_exe() + [str(a) for a in args] + ['--catalog', str(cat)], capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr + r.stdout
    assert 'views:shorts:' in r.stdout and 'views:talks:' in r.stdout, r.stdout
    snap = str(cat)[:-7] + '.snapshot.duckdb'
    posts, views = query(snap, "SELECT count(*), sum(views) FROM engagement WHERE observed_at = (SELECT max(observed_at) FROM engagement)")[0]
    with served(cat, 'analytics') as url:
        page = chrome.new_page(viewport={'width': 1400, 'height': 2200})
        page.goto(url + '/analytics'); page.wait_for_selector('.kpi-clips', timeout=60000)
        page.get_by_text('Engagement', exact=True).first.click()
        page.wait_for_selector('.eng-posts', timeout=60000)
        assert (number(page, '.eng-posts'), number(page, '.eng-views'), number(page, '.eng-linked')) == (posts, views, posts)
        trend = rows_text(page, '.eng-trends')
        assert 'shorts' in trend and 'talks' in trend, trend
        page.wait_for_selector('.bk-Canvas, canvas', timeout=30000)
        assert 'No learned model is active' in ' '.join(page.locator('.eng-model div').all_inner_texts())
        page.screenshot(path=str(DOCS / 'dashboard-engagement.png'), full_page=True)
