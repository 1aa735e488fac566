"""Program settings rules (docs/product.md §6), no ORM: the crisis message a patient sees after a
positive self-harm answer, and validation of working hours and the holiday calendar.

Outcomes shows `crisis_message_for(program)`; the team app validates settings with the
`validate_*` functions before saving them.
"""

from __future__ import annotations

import re

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Shown to a patient at once after a positive self-harm item, when the program has not
# written its own. Numbers from the national services' own pages (checked 2026).
CRISIS_MESSAGES = {
    "GB": ("If you are thinking about harming yourself or feel unsafe now, please get help "
           "straight away. In an emergency call 999. For urgent help that is not an emergency "
           "call NHS 111 (option 2 for mental health). You can talk to Samaritans any time, "
           "day or night, free on 116 123. Your care team will also be in touch."),
    "US": ("If you are thinking about harming yourself or feel unsafe now, please get help "
           "straight away. Call or text 988 (Suicide & Crisis Lifeline), any time, day or "
           "night. In an emergency call 911. Your care team will also be in touch."),
    "IE": ("If you are thinking about harming yourself or feel unsafe now, please get help "
           "straight away. In an emergency call 112 or 999. You can talk to Samaritans any "
           "time, free on 116 123. Your care team will also be in touch."),
    "CA": ("If you are thinking about harming yourself or feel unsafe now, please get help "
           "straight away. Call or text 988 (Suicide Crisis Helpline), any time. In an "
           "emergency call 911. Your care team will also be in touch."),
    "AU": ("If you are thinking about harming yourself or feel unsafe now, please get help "
           "straight away. Call Lifeline on 13 11 14, any time. In an emergency call 000. "
           "Your care team will also be in touch."),
}
GENERIC_CRISIS_MESSAGE = (
    "If you are thinking about harming yourself or feel unsafe now, please get help straight "
    "away: call your local emergency number, or go to the nearest emergency department. "
    "Your care team will also be in touch.")


def default_crisis_message(country: str) -> str:
    return CRISIS_MESSAGES.get((country or "").upper(), GENERIC_CRISIS_MESSAGE)


def crisis_message_for(program) -> str:
    """The program's own crisis message, else the default for its holiday country."""
    own = (getattr(program, "crisis_message", "") or "").strip()
    return own or default_crisis_message(getattr(program, "holiday_country", ""))


def validate_working_hours(value) -> list[str]:
    """Problems with a working_hours value ({"mon": ["09:00", "17:00"] | null, ... "sun"});
    an empty list when it is valid."""
    if not isinstance(value, dict):
        return ['Give an object with one entry per weekday, e.g. {"mon": ["09:00", "17:00"], '
                '"sat": null}.']
    problems = []
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        problems.append(f"Unknown day(s) {', '.join(map(str, unknown))}: use {', '.join(WEEKDAYS)}.")
    missing = [d for d in WEEKDAYS if d not in value]
    if missing:
        problems.append(f"Give every weekday (null when closed); missing {', '.join(missing)}.")
    for day in WEEKDAYS:
        hours = value.get(day)
        if hours is None:
            continue
        if (not isinstance(hours, list | tuple) or len(hours) != 2
                or not all(isinstance(h, str) and _HHMM.match(h) for h in hours)):
            problems.append(f'{day}: give ["HH:MM", "HH:MM"] (24-hour clock) or null.')
        elif hours[0] >= hours[1]:
            problems.append(f"{day}: the start ({hours[0]}) must be before the end ({hours[1]}).")
    return problems


def has_working_hours(value) -> bool:
    return isinstance(value, dict) and any(value.get(d) for d in WEEKDAYS)


def validate_holiday_calendar(country: str, region: str) -> dict[str, list[str]]:
    """Field errors for a holiday country (ISO 3166 alpha-2) and region (its subdivision
    code), checked against the `holidays` library's supported calendars."""
    supported = holidays.list_supported_countries()
    country = (country or "").upper()
    if not country:
        return {"holiday_region": ["Choose a country before a region."]} if region else {}
    if country not in supported:
        return {"holiday_country": [f"'{country}' has no public-holiday calendar: use an ISO "
                                    "3166 country code such as GB or US."]}
    if region and region.upper() not in {s.upper() for s in supported[country]}:
        known = ", ".join(supported[country][:30]) or "none"
        return {"holiday_region": [f"'{region}' is not a region of {country}: choose one of "
                                   f"{known}."]}
    return {}
