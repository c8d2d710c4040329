"""Sign-in for the opusclip dashboards (a Bokeh auth module): members' passwords and single sign-on, sessions per
organisation and role. `opusclip dashboard` passes it to `panel serve --auth-module` once the catalog has an
organisation or `--oidc` names a provider; see `opusclip.apps.signin`."""
from opusclip.apps.signin import LoginHandler, LogoutHandler, get_user, login_url, logout_url  # noqa: F401
