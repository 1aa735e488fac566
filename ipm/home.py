"""What each role sees on its home page; apps contribute widgets through small selectors."""

from . import roles


def home_context(request) -> dict:
    user = request.user
    ctx: dict = {"widgets": []}
    if roles.has_role(user, roles.CLINICIAN, roles.COORDINATOR):
        from outcomes.selectors import open_alerts_for_home

        ctx["open_alerts"] = open_alerts_for_home(user)
    if roles.has_role(user, roles.COORDINATOR):
        from referrals.selectors import queue_summary

        ctx["queue_summary"] = queue_summary(user=user)
    return ctx
