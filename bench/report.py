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
    print(f"{'measure':<28}{'p50':>10}{'p95':>10}{'p95/floor':>11}{'target':>14}  ok")
    for name, r in http.items():
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if r["p95_ms"] < target else "NO")
        tgt = "" if target is None else f"p95 < {target} ms"
        print(f"{name:<28}{r['p50_ms']:>8.1f}ms{r['p95_ms']:>8.1f}ms{r['p95_ratio_to_floor']:>10}x"
              f"{tgt:>14}  {ok}")
    m = jobs.get("metrics_whole_program_s")
    d = jobs.get("dispatch_s")
    if m is not None:
        print(f"{'metrics, whole program':<28}{m:>18.2f} s{'':>11}{'< 10 s':>14}  {'yes' if m < 10 else 'NO'}")
    if d is not None:
        print(f"{'dispatch ' + str(jobs.get('dispatch_due')) + ' due reminders':<28}{d:>18.1f} s{'':>11}"
              f"{'< 60 s':>14}  {'yes' if d < 60 and not jobs.get('dispatch_left') else 'NO'}")
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
