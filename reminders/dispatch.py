"""Send due reminders from the outbox, each at most once (docs/product.md §3.5).

One pass (the Celery task `reminders.tasks.dispatch_due`, every 60 s from beat, or
`manage.py dispatch_reminders`):

1. **Take back stale claims.** A row left in `sending` by a worker that died:
   - claimed more than REMINDERS_VISIBILITY_SECONDS ago and *no attempt started*: the
     provider was never called, so the row goes back to `pending` and is sent by this pass;
   - attempt started more than the window ago and no result recorded: the worker died while
     talking to the provider, or between the provider's acceptance and recording it. The
     message may have been delivered, so it is **not** sent again automatically: the row
     becomes `failed` (reason `provider_error`, `last_error` says the outcome is unknown),
     where coordinators see it and may resend it by hand.
2. **Claim a batch**: `SELECT ... FOR UPDATE SKIP LOCKED` of due `pending` rows, then a
   conditional `UPDATE pending -> sending` stamping `claimed_at` and a fresh `claim_token`,
   committed. Concurrent passes (several workers) claim disjoint rows.
3. **Per row**, in its own short transactions (autocommit), every write conditional on the
   claim token (a pass whose claim was taken back can no longer touch the row):
   re-check eligibility (kind check, consent, address) -> cancelled/failed with a reason code;
   patient SMS in quiet hours -> back to `pending` at 08:00 local; render the message;
   commit the **attempt-started marker** (`attempt_started_at`, `attempts + 1`); call the
   provider; commit the result: `sent` with the provider message id and `sent_at`, or on a
   provider error `pending` again at `now + REMINDERS_RETRY_BASE_SECONDS * 2**attempts`
   until REMINDERS_MAX_ATTEMPTS, then `failed` (`provider_error`, `last_error`).

**The guarantee, honestly.** A reminder is handed to a provider at most once per attempt
marker, and a new marker is only written when the previous attempt is known not to have
reached the provider (no marker yet) or the provider reported an error. So:

- A crash (SIGKILL, OOM, lost database) anywhere except inside the provider call leaves a
  row that is either re-sent later because it was never sent, or already recorded: each
  due reminder is delivered exactly once. The test tests/reminders/test_crash.py kills a
  real worker mid-batch and counts deliveries at a real SMTP server.
- A crash *inside* the provider call (after the marker, before the result is committed)
  leaves the outcome unknown; the row ends `failed` with that explanation instead of being
  sent twice. That is at-most-once, not exactly-once: a coordinator decides.
- A provider error that is ambiguous (a timeout after the request left, an SMTP connection
  dropped during DATA) is retried. Every attempt carries the same idempotency key derived
  from the outbox key (the SMS `idempotency_key`; the email `Message-ID` header), so a
  provider or mail system that deduplicates on it drops the repeat; one that doesn't may
  deliver it twice. No protocol can do better without the provider's help.
- A result that arrives after its claim was taken back (a provider call longer than the
  visibility window) is still recorded if the row is untouched since; the window (default
  10 min) is far above the provider timeouts (SMS_HTTP_TIMEOUT, SMTP timeouts).

Throughput (docs/product.md §5: 10k due reminders in under 60 s): eligibility is prefetched per kind
and batch (a few queries per batch, not per row), one SMTP connection serves a batch, only
the attempt marker waits for the disk (the other commits of a pass are asynchronous, see
`_async_commits`), and a beat pass facing a backlog fans out helper passes to the other
worker processes (reminders.tasks).

Tasks and logs carry reminder ids only, never addresses, names or message text.
"""

import logging
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import kinds
from .channels import AddressRejected, EmailChannel, SmsChannel
from .models import Reminder
from .quiet_hours import DEFAULT_QUIET_HOURS, next_send_time
from .sms import ProviderError

log = logging.getLogger(__name__)

S = Reminder.Status
R = Reminder.Reason

OUTCOME_UNKNOWN = (
    "Outcome unknown: the worker stopped after handing this message to the provider and "
    "before recording the result. Not sent again automatically (at most once); check "
    "with the recipient before resending.")

# Reasons that mean "should not be sent" (cancelled) rather than "could not be sent" (failed).
CANCEL_REASONS = frozenset({R.NO_CONSENT, R.NO_LONGER_NEEDED})


def conf(name: str, default):
    return getattr(settings, f"REMINDERS_{name}", default)


def dispatch_due(*, batch_size: int | None = None, time_budget: float | None = None) -> dict:
    """One dispatch pass: take back stale claims, then claim and send due rows batch by
    batch until none are due or the time budget is spent. Returns counts by outcome."""
    batch_size = batch_size or conf("BATCH_SIZE", 200)
    time_budget = conf("PASS_SECONDS", 50) if time_budget is None else time_budget
    started = time.monotonic()
    counts: Counter = Counter()
    with _async_commits():
        _dispatch_loop(counts, started, batch_size, time_budget)
    result = {k: counts[k] for k in ("claimed", "sent", "retrying", "failed", "cancelled",
                                     "deferred", "reclaimed", "unknown", "lost", "more")}
    if counts["claimed"] or counts["reclaimed"] or counts["unknown"]:
        log.info("reminders dispatch pass: %s",
                 " ".join(f"{k}={v}" for k, v in result.items() if v))
    return result


def _dispatch_loop(counts: Counter, started: float, batch_size: int, time_budget: float):
    reclaim_stale(counts)
    while True:
        token = uuid.uuid4()
        claimed = claim_batch(token, batch_size)
        if not claimed:
            break
        counts["claimed"] += claimed
        send_batch(token, counts)
        if time.monotonic() - started > time_budget:
            # Out of time with rows possibly still due: say so, so the task can chain
            # another pass at once instead of leaving the backlog to the next beat tick.
            counts["more"] = 1
            break


def helpers_wanted() -> int:
    """How many helper passes to fan out: one per further batch of due rows, up to
    REMINDERS_PARALLEL_PASSES - 1 (one index-only count; none when the backlog is small)."""
    extra = max(0, conf("PARALLEL_PASSES", 2) - 1)
    if not extra:
        return 0
    batch = conf("BATCH_SIZE", 200)
    due = (Reminder.objects.filter(status=S.PENDING, scheduled_for__lte=timezone.now())
           .order_by()[:batch * (extra + 1)].count())
    return min(extra, max(0, (due - 1) // batch))


def reclaim_stale(counts: Counter) -> None:
    now = timezone.now()
    cutoff = now - timedelta(seconds=conf("VISIBILITY_SECONDS", 600))
    # Never reached the provider: safe to send again.
    counts["reclaimed"] += Reminder.objects.filter(
        status=S.SENDING, claimed_at__lt=cutoff, attempt_started_at__isnull=True,
    ).update(status=S.PENDING, claim_token=None, claimed_at=None, updated_at=now)
    # May have reached the provider: at most once, so stop here and show it. The claim
    # token is kept so that a late result from a slow provider call can still be recorded.
    counts["unknown"] += Reminder.objects.filter(
        status=S.SENDING, attempt_started_at__lt=cutoff,
    ).update(status=S.FAILED, reason=R.PROVIDER_ERROR, last_error=OUTCOME_UNKNOWN,
             updated_at=now)


def claim_batch(token: uuid.UUID, batch_size: int) -> int:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=S.PENDING, scheduled_for__lte=now)
            .order_by("scheduled_for", "pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return 0
        return Reminder.objects.filter(pk__in=ids, status=S.PENDING).update(
            status=S.SENDING, claimed_at=now, claim_token=token, attempt_started_at=None,
            updated_at=now)


def send_batch(token: uuid.UUID, counts: Counter) -> None:
    rows = list(Reminder.objects.filter(claim_token=token, status=S.SENDING)
                .select_related("patient", "recipient_user").order_by("scheduled_for", "pk"))
    now = timezone.now()
    by_kind: dict[str, list[Reminder]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    data = {}
    for code, kind_rows in by_kind.items():
        kind = kinds.get(code)
        if kind is not None:
            data[code] = kind.prefetch(kind_rows, now)
    channels = {Reminder.Channel.EMAIL: EmailChannel()}
    try:
        for row in rows:
            outcome = send_one(row, token, data.get(row.kind), channels)
            counts[outcome] += 1
            log.debug("reminder %s: %s", row.pk, outcome)
    finally:
        for channel in channels.values():
            channel.close()


def _channel(channels: dict, name: str):
    if name not in channels:
        channels[name] = EmailChannel() if name == Reminder.Channel.EMAIL else SmsChannel()
    return channels[name]


def _mine(row: Reminder, token, *statuses):
    return Reminder.objects.filter(pk=row.pk, claim_token=token,
                                   status__in=statuses or (S.SENDING,))


def _finish(row: Reminder, token, reason: str, channel: str = "", last_error: str = "") -> str:
    status = S.CANCELLED if reason in CANCEL_REASONS else S.FAILED
    fields = {"status": status, "reason": reason, "last_error": last_error,
              "updated_at": timezone.now()}
    if channel:
        fields["channel"] = channel
    if not _mine(row, token).update(**fields):
        return "lost"
    return "cancelled" if status == S.CANCELLED else "failed"


def send_one(row: Reminder, token, data, channels: dict) -> str:
    """Decide, render, mark, send, record. Returns the outcome counted by the pass."""
    now = timezone.now()
    kind = kinds.get(row.kind)
    if kind is None:
        return _finish(row, token, R.NO_LONGER_NEEDED, last_error=f"Unknown kind {row.kind!r}.")
    try:
        reason = kind.eligibility(row, data, now)
        recipient = kind.recipient(row)
    except Exception as exc:  # noqa: BLE001 - one broken check must not stop the batch
        log.exception("reminder %s: eligibility check failed", row.pk)
        return _finish(row, token, "", last_error=f"Eligibility check failed: {type(exc).__name__}")
    if reason:
        return _finish(row, token, reason)
    if recipient.reason:
        return _finish(row, token, recipient.reason, channel=recipient.channel)
    if kind.patient_directed and recipient.channel == Reminder.Channel.SMS:
        send_at = next_send_time(now, row.patient.timezone,
                                 conf("QUIET_HOURS", DEFAULT_QUIET_HOURS))
        if send_at != now:
            moved = _mine(row, token).update(
                status=S.PENDING, scheduled_for=send_at, channel=recipient.channel,
                claim_token=None, claimed_at=None, updated_at=now)
            return "deferred" if moved else "lost"
    try:
        message = kind.message(row, data, now, recipient.channel)
    except Exception as exc:  # noqa: BLE001 - a broken template must not stop the batch
        log.exception("reminder %s: message could not be built", row.pk)
        return _finish(row, token, "", last_error=f"Message could not be built: {type(exc).__name__}")

    delay = conf("SEND_DELAY_SECONDS", 0)
    if delay:  # a test knob: slows a worker down enough to be killed mid-batch
        time.sleep(delay)

    # The attempt-started marker, committed (durably) before the provider is called.
    if not _mark_attempt_started(row, token, recipient.channel):
        return "lost"  # the claim was taken back meanwhile; whoever holds it now sends
    attempts = row.attempts + 1

    try:
        provider_id = _channel(channels, recipient.channel).send(
            to=recipient.address, message=message, reminder_key=row.key)
    except AddressRejected as exc:
        return _finish(row, token, R.INVALID_ADDRESS, last_error=str(exc))
    except Exception as exc:  # noqa: BLE001 - ProviderError, or anything the provider raised
        error = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}"
        return _retry_or_fail(row, token, attempts, error)

    done = _mine(row, token, S.SENDING, S.FAILED).update(
        status=S.SENT, sent_at=timezone.now(), provider_message_id=provider_id[:200],
        reason="", last_error="", updated_at=timezone.now())
    if not done:
        log.warning("reminder %s: sent, but its row changed meanwhile; result not recorded",
                    row.pk)
        return "lost"
    return "sent"


def _mark_attempt_started(row: Reminder, token, channel: str) -> bool:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # this one commit waits for the disk
                cursor.execute("SET LOCAL synchronous_commit TO ON")
        return bool(_mine(row, token).filter(attempt_started_at__isnull=True).update(
            attempt_started_at=timezone.now(), attempts=F("attempts") + 1, channel=channel,
            updated_at=timezone.now()))


@contextmanager
def _async_commits():
    """Commits of the pass return before PostgreSQL flushes them to disk, except the attempt
    marker (above). Safe for at-most-once: a worker crash loses nothing committed; a
    database crash loses at most the last fraction of a second of commits, and since the
    WAL is replayed in order, a durable marker brings every earlier write with it. A lost
    result leaves its row `sending` with a marker: "outcome unknown", never sent twice.
    It halves the disk waits per reminder (docs/product.md §5: 10k reminders in under 60 s)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO DEFAULT")
        except Exception:  # noqa: BLE001 - a broken connection is discarded anyway
            log.warning("could not reset synchronous_commit; closing the connection")
            connection.close()


def _retry_or_fail(row: Reminder, token, attempts: int, error: str) -> str:
    now = timezone.now()
    if attempts >= conf("MAX_ATTEMPTS", 5):
        updated = _mine(row, token).update(status=S.FAILED, reason=R.PROVIDER_ERROR,
                                           last_error=error, updated_at=now)
        return "failed" if updated else "lost"
    backoff = timedelta(seconds=conf("RETRY_BASE_SECONDS", 60) * 2 ** attempts)
    updated = _mine(row, token).update(
        status=S.PENDING, scheduled_for=now + backoff, last_error=error, claim_token=None,
        claimed_at=None, attempt_started_at=None, updated_at=now)
    return "retrying" if updated else "lost"
