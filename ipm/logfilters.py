"""Logging filters that keep the operator's log readable (settings LOGGING).

`RefusalWithoutTraceback`: Django logs every 403 ("Forbidden (Permission denied): /audit/")
with the PermissionDenied traceback attached. A refusal is an expected answer, not an
error: keep the one-line warning, drop the traceback. 5xx errors keep theirs.
"""

import logging


class RefusalWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
