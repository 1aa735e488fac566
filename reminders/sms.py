"""SMS through a small backend interface, chosen by `settings.SMS_BACKEND` (a dotted path).

A backend has one method, `send(to, body, idempotency_key) -> provider_id`, and raises
`ProviderError` when the message was not accepted. The idempotency key is the same on every
attempt for one reminder, so a provider that deduplicates on it drops a repeat.

- `FileBackend` (default): appends one JSON line per message to `SMS_FILE_PATH/outbox.jsonl`.
- `ConsoleBackend`: writes the message to stdout (development only).
- `MemoryBackend` (tests): appends to the module-level list `outbox`.
- `HttpBackend`: POSTs JSON `{to, body, idempotency_key}` to `SMS_HTTP_URL` with
  `Authorization: Bearer <SMS_HTTP_TOKEN>`; non-2xx, timeout or connection error raise
  `ProviderError`.
"""

import json
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
from django.conf import settings
from django.utils.module_loading import import_string


class ProviderError(Exception):
    """The provider did not accept the message. The text is kept in `last_error`, so it
    never contains the recipient's number or the message body."""


class SmsBackend:
    def send(self, to: str, body: str, idempotency_key: str) -> str:  # pragma: no cover
        raise NotImplementedError


outbox: list[dict] = []
_file_lock = threading.Lock()


class MemoryBackend(SmsBackend):
    """Keeps messages in `reminders.sms.outbox` (tests)."""

    def send(self, to, body, idempotency_key):
        provider_id = f"mem-{uuid.uuid4().hex[:12]}"
        outbox.append({"to": to, "body": body, "idempotency_key": idempotency_key,
                       "id": provider_id})
        return provider_id


class ConsoleBackend(SmsBackend):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, to, body, idempotency_key):
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        self.stream.write(f"SMS to {to} [{idempotency_key}]\n{body}\n{'-' * 40}\n")
        self.stream.flush()
        return provider_id


class FileBackend(SmsBackend):
    """Appends JSON lines to `<SMS_FILE_PATH>/outbox.jsonl` (the embedded default)."""

    def __init__(self, directory: str | None = None):
        self.directory = Path(directory or settings.SMS_FILE_PATH)

    @property
    def path(self) -> Path:
        return self.directory / "outbox.jsonl"

    def send(self, to, body, idempotency_key):
        provider_id = f"file-{uuid.uuid4().hex[:12]}"
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "id": provider_id, "to": to,
                           "body": body, "idempotency_key": idempotency_key})
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with _file_lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise ProviderError(f"SMS file backend could not write: {type(exc).__name__}")
        return provider_id


class HttpBackend(SmsBackend):
    """A JSON-over-HTTP SMS provider. The reply may carry the provider's message id as
    `id` or `message_id`; otherwise the idempotency key stands in for it."""

    def __init__(self, url: str | None = None, token: str | None = None,
                 timeout: float | None = None):
        self.url = url or settings.SMS_HTTP_URL
        self.token = token if token is not None else settings.SMS_HTTP_TOKEN
        self.timeout = timeout or settings.SMS_HTTP_TIMEOUT

    def send(self, to, body, idempotency_key):
        if not self.url:
            raise ProviderError("SMS_HTTP_URL is not configured.")
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": idempotency_key}
        try:
            reply = requests.post(self.url, json={"to": to, "body": body,
                                                  "idempotency_key": idempotency_key},
                                  headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            # The exception text may quote the request; keep only its kind.
            raise ProviderError(f"SMS provider unreachable: {type(exc).__name__}")
        if not 200 <= reply.status_code < 300:
            raise ProviderError(f"SMS provider answered HTTP {reply.status_code}")
        try:
            data = reply.json()
        except ValueError:
            data = {}
        provider_id = ""
        if isinstance(data, dict):
            provider_id = str(data.get("id") or data.get("message_id") or "")
        return provider_id or idempotency_key


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
