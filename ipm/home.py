"""What each role sees on its home page. Apps contribute widgets through small selectors;
a missing piece of data never breaks the page."""

from . import roles


def home_context(request) -> dict:
    user = request.user
    ctx: dict = {"widgets": []}
    if roles.has_role(user, roles.CLINICIAN, roles.COORDINATOR):
        try:
            from outcomes.selectors import open_alerts_for_home

            ctx["open_alerts"] = open_alerts_for_home(user)
        except ImportError:
            ctx["open_alerts"] = []
    if roles.has_role(user, roles.COORDINATOR):
        try:
            from referrals.selectors import queue_summary

            ctx["queue_summary"] = queue_summary()
        except ImportError:
            pass
    return ctx
