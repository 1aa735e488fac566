"""Bounded load against a running IPM on 127.0.0.1: p50/p95 per endpoint, with a floor view.

Each endpoint gets `--requests` requests from `--concurrency` threads over keep-alive
connections, after a warm-up. Only loopback targets are accepted.
"""

import argparse
import http.client
import json
import random
import statistics
import threading
import time
from urllib.parse import urlencode, urlparse


def _conn(base):
    u = urlparse(base)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench targets loopback only")
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)


class Session:
    def __init__(self, base):
        self.base, self.cookies, self.token = base, {}, None
        self.conn = _conn(base)

    def request(self, method, path, body=None, headers=None):
        h = {"Host": urlparse(self.base).netloc, "X-Forwarded-Proto": "https"} | (headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            h["Authorization"] = f"Token {self.token}"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = _conn(self.base)
                if attempt:
                    raise
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return resp.status, data

    def login(self, username, password):
        _, page = self.request("GET", "/accounts/login/")
        csrf = self.cookies.get("csrftoken", "")
        body = urlencode({"username": username, "password": password,
                          "csrfmiddlewaretoken": csrf})
        status, _ = self.request("POST", "/accounts/login/", body,
                                 {"Content-Type": "application/x-www-form-urlencoded",
                                  "Referer": "https://" + urlparse(self.base).netloc
                                  + "/accounts/login/"})
        if status != 302:
            raise SystemExit(f"login failed ({status})")

    def get_token(self, username, password):
        status, data = self.request("POST", "/api/auth/token/",
                                    json.dumps({"username": username, "password": password}),
                                    {"Content-Type": "application/json"})
        if status != 200:
            raise SystemExit(f"token failed ({status}): {data[:200]}")
        self.token = json.loads(data)["token"]


# A common family name, a given name, an MRN prefix and a two-letter prefix: what staff type.
SEARCHES = ["Patel", "Maya", "S0000", "Ok"]


def measure(make_session, paths, requests, concurrency, warmup=10):
    """paths: list of paths (cycled). Returns latencies in ms and error count."""
    latencies, errors, lock = [], [0], threading.Lock()
    counter = iter(range(requests + warmup * concurrency))

    def worker():
        try:
            s = make_session()
        except SystemExit as exc:
            print(f"  session failed: {exc}", flush=True)
            return
        for _ in range(warmup):
            s.request("GET", random.choice(paths))
        while True:
            with lock:
                i = next(counter, None)
            if i is None or i >= requests + warmup * concurrency:
                return
            path = paths[i % len(paths)]
            t0 = time.perf_counter()
            status, _ = s.request("GET", path)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                if status >= 400:
                    errors[0] += 1
                latencies.append(ms)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = latencies[-requests:]
    if len(latencies) < 2:
        return {"p50_ms": None, "p95_ms": None, "requests": len(latencies), "errors": errors[0]}
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1), "requests": len(latencies),
            "errors": errors[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8765")
    ap.add_argument("--user", default="bench")
    ap.add_argument("--password", default="bench-pass-not-secret")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--patient-ids", default="")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    ids = [int(x) for x in args.patient_ids.split(",") if x]

    def page_session():
        s = Session(args.base)
        s.login(args.user, args.password)
        return s

    def api_session():
        s = Session(args.base)
        s.get_token(args.user, args.password)
        return s

    def anon():
        return Session(args.base)

    # Two floors: F1 a constant response with no session or database work; F2 a logged-in
    # request that reads one patient (session, auth, audit and one patient row), the least a
    # page can cost. Every endpoint is reported as a ratio to F2 as well as to F1.
    targets = [
        ("floor (GET /livez)", anon, ["/livez"]),
        ("floor F2 (one patient, session)", page_session, [f"/api/patients/{i}/" for i in ids]),
        ("patient search page", page_session, [f"/patients/?q={q}" for q in SEARCHES]),
        ("patient search API", api_session, [f"/api/patients/?q={q}" for q in SEARCHES]),
        ("triage queue page", page_session, ["/referrals/"]),
        ("triage queue API", api_session, ["/api/referrals/"]),
        ("patient page", page_session, [f"/patients/{i}/" for i in ids]),
        ("patient responses API", api_session, [f"/api/patients/{i}/responses/" for i in ids]),
        ("dashboard", page_session, ["/metrics/"]),
    ]
    results = {}
    for name, make, paths in targets:
        if not paths:
            continue
        r = measure(make, paths, args.requests, args.concurrency)
        results[name] = r
        print(f"{name:<26} p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  "
              f"errors {r['errors']}", flush=True)
    floor = results.get("floor (GET /livez)", {}).get("p95_ms") or 1
    f2 = results.get("floor F2 (one patient, session)", {}).get("p95_ms") or 1
    for r in results.values():
        r["p95_ratio_to_floor"] = round(r["p95_ms"] / floor, 1) if r["p95_ms"] else None
        r["p95_ratio_to_f2"] = round(r["p95_ms"] / f2, 1) if r["p95_ms"] else None
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
