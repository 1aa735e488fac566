"""Combine the HTTP and background-job figures into one table against docs/product.md §5."""

import argparse
import json
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

TARGETS = {
    "triage queue page": 100, "triage queue API": 100, "patient page": 100,
    "patient responses API": 100, "dashboard": None, "floor (GET /livez)": None,
}
# Issue 24's goals as multiples of F2 (the logged-in one-patient floor).
F2_GOALS = {"patient search page": 3, "patient search API": 3, "triage queue page": 4}
# Issue 24: whole-program metrics at most 1.2x the same numbers in hand-written SQL
# (bench/raw_metrics.py), which only counts while the two agree.
RAW_SQL_GOAL = 1.2


def _previous(out: Path, patients: int) -> dict | None:
    """The newest earlier report at a different size, for cost growth per endpoint."""
    for path in sorted(out.parent.glob("bench-*.json"), reverse=True):
        try:
            report = json.loads(path.read_text())
        except ValueError:
            continue
        if report.get("patients") and report["patients"] != patients:
            return report
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("http")
    ap.add_argument("jobs")
    ap.add_argument("--patients", type=int)
    ap.add_argument("--out")
    a = ap.parse_args()
    http = json.loads(Path(a.http).read_text())
    jobs = json.loads(Path(a.jobs).read_text())
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    machine = f"{platform.node()} · {cpu} · {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores"
    print(f"\nIPM benchmark · {a.patients:,} patients · {machine}")
    previous = _previous(Path(a.out), a.patients) if a.out else None
    grow = f"vs {previous['patients']:,}" if previous else ""
    print(f"{'measure':<34}{'p50':>10}{'p95':>10}{'/F1':>7}{'/F2':>7}{grow:>12}{'target':>16}  ok")
    for name, r in http.items():
        if r.get("p95_ms") is None:
            print(f"{name:<34} no answers ({r.get('errors')} errors)")
            continue
        target, goal = TARGETS.get(name), F2_GOALS.get(name)
        verdicts, tgt = [], []
        if target is not None:
            verdicts.append(r["p95_ms"] < target)
            tgt.append(f"<{target}ms")
        if goal is not None:
            verdicts.append((r.get("p95_ratio_to_f2") or 0) <= goal)
            tgt.append(f"<={goal}xF2")
        ok = "" if not verdicts else ("yes" if all(verdicts) else "NO")
        growth = ""
        before = (previous or {}).get("http", {}).get(name, {}).get("p95_ms")
        if before:
            growth = f"{r['p95_ms'] / before:.2f}x"
            r["p95_growth"] = {"from_patients": previous["patients"], "ratio": round(r["p95_ms"] / before, 2)}
        print(f"{name:<34}{r['p50_ms']:>8.1f}ms{r['p95_ms']:>8.1f}ms{r['p95_ratio_to_floor']:>6}x"
              f"{r.get('p95_ratio_to_f2') or '':>6}x{growth:>12}{' '.join(tgt):>16}  {ok}")
    m = jobs.get("metrics_whole_program_s")
    d = jobs.get("dispatch_s")
    if m is not None:
        print(f"{'metrics, whole program':<28}{m:>18.2f} s{'':>11}{'< 10 s':>14}  {'yes' if m < 10 else 'NO'}")
    raw, ratio = jobs.get("metrics_raw_sql_s"), jobs.get("metrics_to_raw_sql_ratio")
    if raw is not None:
        print(f"{'  same in hand-written SQL':<28}{raw:>18.2f} s")
    if ratio is not None:
        equal = jobs.get("metrics_raw_equal")
        ok = "yes" if ratio <= RAW_SQL_GOAL and equal else "NO"
        differ = "" if equal else f"  (numbers differ: {', '.join(jobs.get('metrics_raw_differ') or [])})"
        print(f"{'  metrics / hand-written SQL':<28}{ratio:>18.2f} x{'':>11}"
              f"{f'<= {RAW_SQL_GOAL}x':>14}  {ok}{differ}")
    snap = jobs.get("metrics_snapshot_30d_with_trends_s")
    if snap is not None:
        print(f"{'compute_metrics (30 d+trends)':<28}{snap:>18.2f} s{'':>11}{'< 5 s':>14}  "
              f"{'yes' if snap < 5 else 'NO'}")
    build = jobs.get("rollups_full_build_s")
    if build is not None:
        print(f"{'  roll-ups: first build':<28}{build:>18.1f} s   (then "
              f"{jobs.get('rollups_refresh_unchanged_s')} s per check with nothing new)")
    if d is not None:
        print(f"{'dispatch ' + str(jobs.get('dispatch_due')) + ' due reminders':<28}{d:>18.1f} s{'':>11}"
              f"{'< 60 s':>14}  {'yes' if d < 60 and not jobs.get('dispatch_left') else 'NO'}")
    e = jobs.get("export_s")
    if e is not None:
        done = jobs.get("export_status") == "done"
        label = f"$export {jobs.get('export_patients')} patients"
        print(f"{label:<28}{e:>18.1f} s{'':>11}{'done':>14}  {'yes' if done else 'NO'}"
              f"  ({jobs.get('export_resources')} resources, {jobs.get('export_mb')} MB, "
              f"{jobs.get('export_resources_per_s')}/s)"
              + ("" if done else f" {jobs.get('export_status')} at {jobs.get('export_progress')}%"))
    elif jobs.get("export_skipped"):
        print("$export                     skipped (BENCH_EXPORT=0)")
    for k, v in jobs.items():
        if k.endswith("_error"):
            print(f"{k}: {v}")
    report = {"at": datetime.now(UTC).isoformat(), "patients": a.patients,
              "machine": machine, "http": http, "jobs": jobs}
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=2))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        Path(a.out).with_name(f"bench-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
