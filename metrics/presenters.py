"""Turn metric values into the rows the dashboard shows and the CSV export writes, so the
two always carry the same numbers. Breakdowns are flattened to dotted paths
(`responders.peg`, `responders_by_risk_group.high.phq9`)."""

from collections.abc import Iterator
from datetime import date
from typing import Any

from .definitions import INNER_LABELS, MEASURE_LABELS, METRICS, SUBKEY_LABELS


def _ordered(value: dict, order) -> list[tuple[str, Any]]:
    known = [(k, value[k]) for k in order if k in value]
    return known + [(k, v) for k, v in value.items() if k not in order]


def normalise(values: dict) -> dict:
    """Values in the definitions' order at every level (PostgreSQL's jsonb does not keep the
    order keys were written in)."""
    out = {}
    for key in METRICS:
        value = values.get(key)
        if isinstance(value, dict):
            order = INNER_LABELS.get(key, MEASURE_LABELS)
            value = {sub: ({m: v for m, v in _ordered(inner, order)}
                           if isinstance(inner, dict) else inner)
                     for sub, inner in _ordered(value, SUBKEY_LABELS.get(key, {}))}
        out[key] = value
    return out


def flatten(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(`key.sub.sub`, number) pairs of one metric's value, in its own order."""
    if isinstance(value, dict):
        for sub, inner in value.items():
            yield from flatten(f"{key}.{sub}", inner)
    else:
        yield key, value


def label_for(path: str) -> str:
    key, *subs = path.split(".")
    label = METRICS[key].label
    if not subs:
        return label
    names = [SUBKEY_LABELS.get(key, {}).get(subs[0], subs[0])]
    inner = INNER_LABELS.get(key, MEASURE_LABELS)
    names += [inner.get(sub, sub) for sub in subs[1:]]
    return f"{label}: {', '.join(names)}"


def change(value, previous):
    if isinstance(value, int | float) and isinstance(previous, int | float):
        return round(value - previous, 1)
    return None


def period_rows(values: dict, previous: dict | None = None) -> list[dict]:
    """One row per number of the period: path, label, value, previous value, change and
    the metric's definition."""
    previous = previous or {}
    rows = []
    for key, metric in METRICS.items():
        before = dict(flatten(key, previous.get(key))) if key in previous else {}
        for path, value in flatten(key, values.get(key)):
            prior = before.get(path)
            rows.append({"path": path, "key": key, "label": label_for(path), "value": value,
                         "previous": prior, "change": change(value, prior), "unit": metric.unit,
                         "definition": metric.definition})
    return rows


def week_rows(series: list[dict]) -> list[dict]:
    """One row per number per week of the trend series."""
    rows = []
    for week in series or []:
        for key in METRICS:
            if key not in week:
                continue
            for path, value in flatten(key, week[key]):
                rows.append({"path": path, "label": label_for(path), "value": value,
                             "week_start": week["week_start"], "week_end": week["week_end"],
                             "definition": METRICS[key].definition})
    return rows


def kpi_cards(values: dict, previous: dict) -> list[dict]:
    """Cards for the single-number metrics, with the change and whether it is good news."""
    cards = []
    for key, metric in METRICS.items():
        if metric.unit == "breakdown":
            continue
        value, prior = values.get(key), previous.get(key)
        delta = change(value, prior)
        good = None
        if delta and metric.better:
            good = (delta > 0) == (metric.better == "up")
        cards.append({"key": key, "label": metric.label, "value": value, "previous": prior,
                      "change": delta, "good": good, "unit": metric.unit,
                      "definition": metric.definition})
    return cards


def breakdown_table(key: str, values: dict, previous: dict) -> dict:
    """A simple breakdown (risk mix, referral states, responders) as rows with previous."""
    metric = METRICS[key]
    labels = SUBKEY_LABELS.get(key, {})
    current, prior = values.get(key) or {}, previous.get(key) or {}
    rows = [{"key": sub, "label": labels.get(sub, sub), "value": value,
             "previous": prior.get(sub), "change": change(value, prior.get(sub))}
            for sub, value in current.items()]
    unit = "percent" if key in ("responders", "dna_rate_by_service",
                                "booked_hours_ratio") else "count"
    return {"key": key, "label": metric.label, "definition": metric.definition, "rows": rows,
            "unit": unit}


def split_table(key: str, values: dict) -> dict:
    """A responder split (by risk group or dose) as a matrix: groups x measures."""
    metric = METRICS[key]
    labels = SUBKEY_LABELS.get(key, {})
    data = values.get(key) or {}
    return {"key": key, "label": metric.label, "definition": metric.definition,
            "measures": [{"key": m, "label": label} for m, label in MEASURE_LABELS.items()],
            "rows": [{"key": group, "label": labels.get(group, group),
                      "cells": [{"measure": m, "value": (data.get(group) or {}).get(m)}
                                for m in MEASURE_LABELS]}
                     for group in data]}


def site_table(key: str, values: dict, site_names: dict[str, str]) -> dict:
    """A per-site breakdown (safety-alert acknowledgement) as a matrix: sites x measures."""
    metric = METRICS[key]
    columns = INNER_LABELS[key]
    data = values.get(key) or {}
    return {"key": key, "label": metric.label, "definition": metric.definition,
            "measures": [{"key": m, "label": label} for m, label in columns.items()],
            "rows": [{"key": site, "label": site_names.get(site, site),
                      "cells": [{"measure": m, "value": (data.get(site) or {}).get(m),
                                 "unit": "hours" if m == "median_hours" else "percent"}
                                for m in columns]}
                     for site in data]}


def _short_date(iso: str) -> str:
    """"24 Oct" for "2026-10-24": week labels that fit side by side under a chart."""
    try:
        return date.fromisoformat(iso).strftime("%-d %b")
    except (TypeError, ValueError):
        return str(iso)


def chart_data(values: dict, series: list[dict]) -> dict:
    """What static/metrics/dashboard.js draws (read from a json_script)."""
    def column(key, sub=None):
        out = []
        for week in series or []:
            value = week.get(key)
            out.append(value.get(sub) if sub and isinstance(value, dict) else value)
        return out

    def by_key(key):
        """(keys, labels, counts) of a breakdown in the definitions' order, zeros included,
        so colours (risk) follow the key and not the position."""
        labels = SUBKEY_LABELS[key]
        value = values.get(key) or {}
        return list(labels), list(labels.values()), [value.get(sub, 0) for sub in labels]

    risk_keys, risk_labels, risk_counts = by_key("risk_mix")
    state_keys, state_labels, state_counts = by_key("referrals_by_state")
    weeks = [week["week_start"] for week in series or []]
    return {
        "weeks": weeks,
        "week_labels": [_short_date(week) for week in weeks],
        "charts": {
            "intakes": {"type": "bar", "unit": "patients", "integer": True, "datasets": [
                {"label": METRICS["new_intakes"].label, "data": column("new_intakes")}]},
            "wait_times": {"type": "line", "unit": "days", "datasets": [
                {"label": METRICS["median_days_referral_to_triage"].label,
                 "data": column("median_days_referral_to_triage")},
                {"label": METRICS["median_days_referral_to_first_visit"].label,
                 "data": column("median_days_referral_to_first_visit")}]},
            "attendance": {"type": "line", "unit": "%", "datasets": [
                {"label": METRICS["attendance_rate"].label, "data": column("attendance_rate")},
                {"label": METRICS["pct_over_sla"].label, "data": column("pct_over_sla")}]},
            # Grouped bars: one colour per measure, side by side in each week (five lines
            # sharing the same few points read as one).
            "responders": {"type": "bar", "unit": "%", "max": 100, "datasets": [
                {"label": label, "data": column("responders", m)}
                for m, label in MEASURE_LABELS.items()]},
            "mme": {"type": "line", "unit": "MME/day", "datasets": [
                {"label": METRICS["mean_mme_intake"].label, "data": column("mean_mme_intake")},
                {"label": METRICS["mean_mme_latest"].label, "data": column("mean_mme_latest")}]},
            "risk_mix": {"type": "doughnut", "unit": "patients", "colour_by": "risk",
                         "keys": risk_keys, "labels": risk_labels,
                         "datasets": [{"label": METRICS["risk_mix"].label, "data": risk_counts}]},
            "referrals_by_state": {
                "type": "bar", "unit": "referrals", "integer": True, "keys": state_keys,
                "labels": state_labels,
                "datasets": [{"label": METRICS["referrals_by_state"].label,
                              "data": state_counts}]},
        },
    }
