# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run migrate demo test lint screenshots bench worker clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py demo_data

# The embedded default: SQLite + filesystem broker under var/, a real Celery worker with
# beat in the background, and the web server in the foreground (Ctrl-C stops both).
run: demo
	@bash scripts/run-dev.sh $(HOST) $(PORT)

worker: install
	$(VENV)/bin/celery -A ipm worker --beat --loglevel=info --concurrency=1 \
		--scheduler django_celery_beat.schedulers:DatabaseScheduler

test: install
	@bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

screenshots: install
	IPM_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/e2e -q

bench: install
	@bash bench/run.sh

clean:
	rm -rf var/ staticfiles/ .pytest_cache
