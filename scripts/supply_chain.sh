#!/usr/bin/env bash
# Supply chain checks, part of `make test`:
# - bandit over our code: must be clean (each accepted finding carries `# nosec Bxxx - why`);
# - pip-audit over the installed packages when a vulnerability service is reachable. On a
#   machine without one (this project's CI reaches only the package registries, whose
#   mirror has no vulnerability API), it says so plainly instead of failing.
set -uo pipefail
cd "$(dirname "$0")/.."
echo "== bandit"
# bandit's stderr is noise when the run is clean: "Test in comment" for the words after a
# `# nosec Bxxx - why`, and "nosec encountered (Bxxx), but no failed test" printed for every
# other check run on a line whose finding the nosec did suppress (remove one of those
# comments and the finding comes back). Findings themselves go to stdout and fail the run.
# Every first-party package (pyproject's [tool.setuptools.packages.find] include list).
packages=$(.venv/bin/python - <<'PYEOF'
import pathlib, tomllib
include = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
print(" ".join(sorted({p.rstrip("*") for p in include})))
PYEOF
)
# shellcheck disable=SC2086 - one word per package
.venv/bin/bandit -q -r $packages -x "*/migrations/*" 2> >(grep -v -e "Test in comment" -e "nosec encountered" >&2) || exit 1
echo "bandit: no unexplained findings"
echo "== pip-audit"
out=$(timeout 120 .venv/bin/pip-audit --progress-spinner off --skip-editable 2>&1)
status=$?
if echo "$out" | grep -qE "not found on PyPI and could not be audited|Failed to resolve|ConnectionError|Max retries"; then
  if echo "$out" | grep -qE "^Name +Version +ID"; then
    echo "$out"; exit 1
  fi
  echo "pip-audit: skipped, no vulnerability service reachable from this machine"
  exit 0
fi
echo "$out"
exit $status
