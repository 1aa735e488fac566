"""Local development: the embedded default (SQLite + filesystem broker), DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# The demo's admin can look at the dashboard without enrolling an authenticator first;
# production requires TOTP for admins (IPM_ADMIN_2FA_REQUIRED defaults to true there).
IPM_ADMIN_2FA_REQUIRED = env.bool("IPM_ADMIN_2FA_REQUIRED", default=False)
