"""Demo care management for `manage.py demo_data` (runs after outcomes' demo, so some
patients are already flagged not improving): step decisions,
contacts over the last two months (minutes that meet billing codes), a patient who has not
answered three calls, contacts due today, and care plans with goals. Everything goes
through the services, as it would in use (care managers are assigned by the
patients' caseload service, not here)."""

from datetime import timedelta

from django.utils import timezone

from ipm import roles

from . import services

GOALS = [
    ("I want to walk my dog to the park and back", "Walking the dog", 90),
    ("Get back to my allotment on Saturdays", "Gardening", 120),
    ("Pick up my grandson without worrying", "Lifting my grandson", 60),
    ("Sit through a film at the cinema", "Sitting for two hours", 45),
]


def populate(ctx: dict) -> None:
    users = ctx["users"]
    clinician, coordinator = users[roles.CLINICIAN], users[roles.COORDINATOR]
    patients = list(ctx["patients"])
    if not patients:
        return
    now = timezone.now()
    today = timezone.localdate()
    caseload = patients[: max(4, len(patients) // 2)]

    # Step decisions: some stepped up, one "stay" with a reason.
    for patient in caseload[:3]:
        services.step_decide(patient=patient, step=2, actor=clinician,
                             reason="Medium risk and slow progress: add care management and "
                                    "physiotherapy.")
    services.step_decide(patient=caseload[3], step=1, actor=clinician,
                         reason="Improving with self-management; review in 6 weeks.")

    # Contacts: last month and this month, enough minutes to meet codes for some.
    for i, patient in enumerate(caseload[:3]):
        for days_ago, minutes in ((35, 20), (33, 15), (10, 25), (3, 15 + 5 * i)):
            when = now - timedelta(days=days_ago)
            services.contact_create(patient=patient, kind="phone", minutes=minutes,
                                    outcome="reached", note="Reviewed goals and pacing plan.",
                                    contacted_at=when.isoformat(), actor=coordinator)
    # Three unanswered calls in a row.
    silent = caseload[-1]
    for days_ago in (6, 4, 2):
        services.contact_create(patient=silent, kind="phone", minutes=2, outcome="no_answer",
                                contacted_at=(now - timedelta(days=days_ago)).isoformat(),
                                actor=coordinator)
    # Contacts due today.
    for patient in caseload[1:3]:
        services.contact_create(patient=patient, kind="message", minutes=5,
                                outcome="left_message", next_contact_on=today.isoformat(),
                                note="Asked to call back about the group programme.",
                                actor=coordinator)

    # Care plans.
    for patient, (text, activity, days) in zip(caseload, GOALS, strict=False):
        services.goal_create(patient=patient, text=text, activity=activity,
                             target_date=(today + timedelta(days=days)).isoformat(),
                             actor=coordinator)
    services.goal_create(patient=caseload[0], text="Sleep through the night more often",
                         target_date=(today + timedelta(days=60)).isoformat(), actor=coordinator)
