"""Hand one rendered message to its channel: email through Django's email backends, SMS
through reminders.sms. Both return the provider message id, raise `ProviderError` when the
provider did not take the message (worth retrying), or `AddressRejected` when it refused
the address for good.

Every attempt for one reminder carries the same idempotency key, derived from the outbox
key: the SMS `idempotency_key`, and the email `Message-ID` header, so a receiving system
that deduplicates drops a repeat (see reminders/dispatch.py for when one can happen)."""

import hashlib
import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import sms
from .kinds import Message
from .sms import ProviderError


class AddressRejected(Exception):
    """The provider refused the address permanently (SMTP 5xx for every recipient)."""


def idempotency_key(reminder_key: str) -> str:
    # A digest, not the key itself: the key names patient ids, which providers don't need.
    return "ipm-" + hashlib.sha256(f"ipm-reminder:{reminder_key}".encode()).hexdigest()[:40]


def message_id(reminder_key: str) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "ipm.local"
    return f"<{idempotency_key(reminder_key)}@{domain}>"


class EmailChannel:
    """One connection per dispatch batch (opened lazily, reopened after a failure)."""

    def __init__(self):
        self.connection = None

    def send(self, *, to: str, message: Message, reminder_key: str) -> str:
        msgid = message_id(reminder_key)
        email = EmailMultiAlternatives(
            subject=message.subject, body=message.text, from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to], headers={"Message-ID": msgid, "Auto-Submitted": "auto-generated"})
        email.attach_alternative(message.html, "text/html")
        try:
            if self.connection is None:
                self.connection = get_connection(fail_silently=False)
                self.connection.open()  # kept open for the rest of the batch
            sent = self.connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _msg in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise AddressRejected(f"SMTP refused the recipient ({codes[0]})")
            raise ProviderError(f"SMTP refused the recipient for now ({codes[0] if codes else '?'})")
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise ProviderError(f"SMTP error {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:
            # Kind only: SMTP exception texts can quote addresses.
            self.close()
            raise ProviderError(f"SMTP failure: {type(exc).__name__}")
        if not sent:
            raise ProviderError("The email backend did not send the message.")
        return msgid.strip("<>")

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - a broken connection is being thrown away  # nosec B110
                pass
            self.connection = None


class SmsChannel:
    def __init__(self):
        self.backend = sms.get_backend()

    def send(self, *, to: str, message: Message, reminder_key: str) -> str:
        return self.backend.send(to, message.sms, idempotency_key(reminder_key))

    def close(self) -> None:
        pass
