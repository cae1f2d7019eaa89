"""Reading the API's traffic: per-key usage, the request log, the failure banner, pruning."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from portal.diagnostics.buffer import this_hour
from portal.diagnostics.models import ApiRequestLog, ApiUsageCounter
from portal.diagnostics.reasons import ALERT_REASONS, explain, in_words
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api.models import ApiKey

CHART_DAYS = 30
FAILED_CLASSES = ("4xx", "5xx")


@dataclass
class DayCount:
    day: date
    ok: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.failed


@dataclass
class KeyUsage:
    """One key's numbers: requests in 24 h and 30 days, failures by reason, requests per day."""

    key: ApiKey
    days: list[DayCount]
    last_24h: int = 0
    last_30d: int = 0
    failures: Counter = field(default_factory=Counter)

    @property
    def failed_30d(self) -> int:
        return sum(day.failed for day in self.days)


@dataclass(frozen=True)
class Alert:
    key: ApiKey
    reason: str
    count: int
    explanation: str


@dataclass(frozen=True)
class KeyAlert:
    """One line of the failures banner: a key, its failures, and the most common reason."""

    key: ApiKey
    count: int
    reason: str

    @property
    def reason_in_words(self) -> str:
        return in_words(self.reason)


def alerts_by_key(alerts: list[Alert]) -> list[KeyAlert]:
    """The banner's lines: one per key, busiest first (alerts come sorted by count)."""
    lines: dict[str, KeyAlert] = {}
    for alert in alerts:
        line = lines.get(alert.key.id)
        lines[alert.key.id] = KeyAlert(alert.key, alert.count, alert.reason) if line is None \
            else KeyAlert(line.key, line.count + alert.count, line.reason)
    return sorted(lines.values(), key=lambda line: (-line.count, line.key.name))


def flush_pending() -> None:
    """Write this process's pending traffic first, so what is read includes it."""
    buffer = current_app.extensions.get("api_traffic")
    if buffer is None:
        return
    try:
        buffer.flush()
    except Exception:
        current_app.logger.exception("Could not write API traffic")


def key_usage(firm_id: str, keys: list[ApiKey]) -> dict[str, KeyUsage]:
    """Usage of the firm's given keys over the chart's 30 days (today included, UTC)."""
    flush_pending()
    first_day = utcnow().date() - timedelta(days=CHART_DAYS - 1)
    since_24h = this_hour() - timedelta(hours=23)
    usage = {
        key.id: KeyUsage(key, [DayCount(first_day + timedelta(days=n)) for n in range(CHART_DAYS)])
        for key in keys
    }
    counts = select(
        ApiUsageCounter.key_id, ApiUsageCounter.hour, ApiUsageCounter.status_class,
        ApiUsageCounter.count,
    ).where(ApiUsageCounter.firm_id == firm_id, ApiUsageCounter.hour >= _midnight(first_day))
    for key_id, hour, klass, count in db.session.execute(counts):
        if key_id not in usage:
            continue
        one, index = usage[key_id], (hour.date() - first_day).days
        if index >= CHART_DAYS:
            continue  # a clock set back: never an IndexError on the admin's page
        day = one.days[index]
        if klass in FAILED_CLASSES:
            day.failed += count
        else:
            day.ok += count
        one.last_30d += count
        one.last_24h += count if hour >= since_24h else 0
    _add_failure_reasons(firm_id, usage, _midnight(first_day))
    return usage


def _add_failure_reasons(firm_id: str, usage: dict[str, KeyUsage], since: datetime) -> None:
    query = (
        select(ApiRequestLog.key_id, ApiRequestLog.reason, func.count())
        .where(ApiRequestLog.firm_id == firm_id, ApiRequestLog.created_at >= since)
        .group_by(ApiRequestLog.key_id, ApiRequestLog.reason)
    )
    for key_id, reason, count in db.session.execute(query):
        if key_id in usage:
            usage[key_id].failures[reason] += count


def recent_alerts(firm_id: str, within: timedelta = timedelta(hours=1),
                  after: datetime | None = None) -> list[Alert]:
    """Keys whose requests failed in the last hour (and `after`, when the admin dismissed the
    banner then) for a reason the admin can act on."""
    flush_pending()
    since = max(utcnow() - within, after) if after else utcnow() - within
    query = (
        select(ApiRequestLog.key_id, ApiRequestLog.reason, func.count())
        .where(ApiRequestLog.firm_id == firm_id, ApiRequestLog.created_at >= since)
        .where(ApiRequestLog.reason.in_(sorted(ALERT_REASONS)))
        .where(ApiRequestLog.key_id.is_not(None))
        .group_by(ApiRequestLog.key_id, ApiRequestLog.reason)
    )
    rows = db.session.execute(query).all()
    keys = {key.id: key for key in _keys_by_id({key_id for key_id, _, _ in rows})}
    alerts = [
        Alert(keys[key_id], reason, count, explain(reason, keys[key_id]))
        for key_id, reason, count in rows
    ]
    return sorted(alerts, key=lambda alert: (-alert.count, alert.key.name, alert.reason))


def _keys_by_id(key_ids: set[str]) -> list[ApiKey]:
    if not key_ids:
        return []
    return list(db.session.execute(select(ApiKey).where(ApiKey.id.in_(key_ids))).scalars())


def firm_keys(firm_id: str) -> list[ApiKey]:
    """Every saved key of the firm, deleted ones included (their failures are still logged)."""
    query = (
        select(ApiKey)
        .where(ApiKey.firm_id == firm_id, ApiKey.saved_at.is_not(None))
        .order_by(ApiKey.deleted_at.is_not(None), ApiKey.name, ApiKey.id)
    )
    return list(db.session.execute(query).scalars())


def prune(days: int) -> tuple[int, int]:
    """Delete log rows and usage counts older than `days` days; returns how many of each."""
    cutoff = utcnow() - timedelta(days=days)
    flush_pending()
    logs = db.session.execute(delete(ApiRequestLog).where(ApiRequestLog.created_at < cutoff))
    counts = db.session.execute(delete(ApiUsageCounter).where(ApiUsageCounter.hour < cutoff))
    return logs.rowcount, counts.rowcount


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def log_rows_query(**criteria):
    """Failed requests, newest first, with their key loaded for the explanation."""
    query = select(ApiRequestLog).options(joinedload(ApiRequestLog.key))
    for name, value in criteria.items():
        query = query.where(getattr(ApiRequestLog, name) == value)
    return query.order_by(ApiRequestLog.created_at.desc(), ApiRequestLog.id.desc())
