"""gunicorn settings read from the working directory by every launch (Dockerfile,
docker-compose, bench/run.sh, the fault tests): command-line flags still win.

The logger masks questionnaire/stop link tokens and search terms (?q=, name=, ...) in the
access log (request line, query string, Referer) and in the error log (ipm/redact.py)."""

logger_class = "ipm.redact.GunicornLogger"
