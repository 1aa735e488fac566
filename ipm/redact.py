"""Keep secrets and patient identifiers out of log lines and stored paths (issue 16 §3).

Two kinds of values must never reach a log or an audit row in the clear:

- tokens in URL paths: a questionnaire link `/q/<token>/` lets whoever reads it answer as
  the patient; a stop link `/reminders/stop/<token>/` stops a patient's reminders; a staff
  invitation `/team/invite/<token>/` sets a new person's password; a clinician's calendar
  feed `/appointments/feed/<token>.ics` shows their diary;
- search terms in query strings: `?q=`, FHIR `name=`/`identifier=`/`birthdate=`, the
  outbox's `patient=` (an id or an MRN) carry names, MRNs and birth dates.

`redact(text)` replaces them with `***`. It is applied three ways:

- `RedactingFilter` on every logging handler (settings LOGGING, Django's default handlers
  in `IpmConfig.ready()`, gunicorn's error and access logs through `GunicornLogger`, set
  in gunicorn.conf.py): masks the formatted message and the traceback text;
- `install_record_factory()` masks each record's message and arguments when it is created,
  so handlers added later (Celery's, pytest's caplog, an error tracker) get clean records;
- `AuditEvent.save()` masks the request path stored in the audit trail.

No Django imports here: gunicorn's master imports this module before Django is set up.
"""

import copy
import logging
import re

MASK = "***"

# Paths whose last segment is a secret (every `<str:token>` route in the urls.py files;
# tests/ipm/test_redact.py walks the URLconf and fails if a new one is not listed here).
TOKEN_PATH_PREFIXES = ("/q/", "/reminders/stop/", "/team/invite/", "/appointments/feed/")

# Query parameters whose values identify a patient or carry a secret.
SENSITIVE_PARAMS = (
    "q", "search", "name", "family", "given", "identifier", "mrn", "birthdate",
    "birth_date", "patient", "email", "phone", "token", "key", "password",
)

_TOKEN_PATH = re.compile(
    r"(?P<prefix>" + "|".join(re.escape(p) for p in TOKEN_PATH_PREFIXES) + r")"
    r"(?P<secret>[^/?#\s\"'<>]+)"
)
_PARAM = re.compile(
    r"(?P<prefix>(?:^|(?<=[?&;\s\"']))(?:" + "|".join(SENSITIVE_PARAMS) + r")(?::[\w-]+)?=)"
    r"(?P<secret>[^&;#\s\"'<>]*)",
    re.IGNORECASE,
)


def _mask(match: re.Match) -> str:
    return match.group("prefix") + (MASK if match.group("secret") else "")


def redact(text: str) -> str:
    """`text` with link tokens and sensitive query values replaced by `***`."""
    if not text or ("/" not in text and "=" not in text):
        return text
    return _PARAM.sub(_mask, _TOKEN_PATH.sub(_mask, text))


def _redact_value(value):
    return redact(value) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> None:
    """Mask a record's message and arguments in place (cheap: no formatting)."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    args = record.args
    if isinstance(args, dict):
        masked = copy.copy(args)  # keeps the mapping's type (gunicorn's SafeAtoms)
        for key, value in args.items():
            if isinstance(value, str):
                masked[key] = redact(value)
        record.args = masked
    elif isinstance(args, tuple):
        record.args = tuple(_redact_value(v) for v in args)


class RedactingFilter(logging.Filter):
    """Handler filter: the line a handler writes carries no token and no search term."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler's own error path
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def install_on_handlers(loggers=None) -> None:
    """Add the filter to every handler of the root logger and of every named logger (or
    of `loggers`), once."""
    if loggers is None:
        loggers = [logging.getLogger()] + [
            lg for lg in logging.Logger.manager.loggerDict.values()
            if isinstance(lg, logging.Logger)
        ]
    for lg in loggers:
        for handler in lg.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(_FILTER)


def install_record_factory() -> None:
    """Mask every record at creation, whichever handler ends up writing it."""
    current = logging.getLogRecordFactory()
    if getattr(current, "ipm_redacting", False):
        return

    def factory(*args, **kwargs):
        record = current(*args, **kwargs)
        redact_record(record)
        return record

    factory.ipm_redacting = True
    logging.setLogRecordFactory(factory)


try:  # gunicorn is a production dependency; the module must still import without it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None

if _GunicornLogger is not None:
    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with the filter on its error and access log handlers (the
        access line carries the request line, the query string and the Referer)."""

        def setup(self, cfg):
            super().setup(cfg)
            install_record_factory()
            install_on_handlers([self.error_log, self.access_log])

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            return {k: _redact_value(v) for k, v in atoms.items()}
