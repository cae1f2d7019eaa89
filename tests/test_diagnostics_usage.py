"""Usage counts per key and hour, the 30-day SVG chart, and pruning old rows."""

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.diagnostics import buffer as traffic
from portal.diagnostics.buffer import TrafficBuffer, this_hour
from portal.diagnostics.chart import PLOT_HEIGHT
from portal.diagnostics.models import ApiRequestLog, ApiUsageCounter
from portal.extensions import db
from portal.ids import utcnow
from tests.api_helpers import basic, make_pair
from tests.diagnostics_helpers import PAGE, PING, hold_traffic, text_of, wrong


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin, name="Software Name")


def counted() -> dict:
    rows = db.session.execute(select(ApiUsageCounter.status_class, ApiUsageCounter.count))
    return dict(rows.all())


def usage_section(page: str, key_id: str) -> str:
    start = page.index(f'id="usage-{key_id}"')
    return page[start:page.index("</article>", start)]


def chart_days(section: str) -> dict[str, tuple[int, int, str]]:
    """Each chart day's numbers as the SVG states them, with the rects drawn for it."""
    days = {}
    for day, ok, failed, body in re.findall(
        r'<g class="chart-day" data-day="([\d-]+)" data-ok="(\d+)" data-failed="(\d+)">(.*?)</g>',
        section, re.S,
    ):
        days[day] = (int(ok), int(failed), body)
    return days


def test_requests_are_counted_per_key_hour_and_status_class(client, pair):
    for _ in range(3):
        client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    client.get("/api/v1/clients/missing", headers=basic(pair.key.api_key, pair.secret))
    assert counted() == {"2xx": 3, "4xx": 2}
    hours = db.session.execute(select(ApiUsageCounter.hour).distinct()).scalars().all()
    assert hours == [this_hour()]


def test_the_chart_and_numbers_match_the_counted_requests(client, auth, pair):
    for _ in range(4):
        client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    for _ in range(2):
        client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    three_days_ago = this_hour() - timedelta(days=3)
    long_ago = this_hour() - timedelta(days=40)
    db.session.add_all([
        ApiUsageCounter(key_id=pair.key.id, firm_id=pair.key.firm_id, hour=three_days_ago,
                        status_class="2xx", count=8),
        ApiUsageCounter(key_id=pair.key.id, firm_id=pair.key.firm_id, hour=long_ago,
                        status_class="2xx", count=100),
    ])
    db.session.commit()

    auth.login("admin@alpha.example")
    section = usage_section(client.get(PAGE).text, pair.key.id)
    text = text_of(section)
    assert "Requests, last 24 h 6" in text
    assert "Requests, last 30 days 14 (2 failed)" in text
    assert "WRONG_SECRET 2" in text
    days = chart_days(section)
    assert len(days) == 30
    today, earlier = utcnow().date().isoformat(), three_days_ago.date().isoformat()
    assert days[today][:2] == (4, 2) and days[earlier][:2] == (8, 0)
    assert sum(ok for ok, _, _ in days.values()) == 12
    assert sum(failed for _, failed, _ in days.values()) == 2
    # the busiest day (8) fills the plot; today's bars are 4/8 and 2/8 of it
    assert f'class="chart-ok" x="{_x(days[earlier][2])}"' in days[earlier][2]
    assert _height(days[earlier][2], "chart-ok") == PLOT_HEIGHT
    assert _height(days[today][2], "chart-ok") == PLOT_HEIGHT * 4 / 8
    assert _height(days[today][2], "chart-failed") == PLOT_HEIGHT * 2 / 8
    assert f"<th scope=\"row\">{today}</th><td>4</td><td>2</td>" in section
    assert "successful, 2 failed; the busiest day had 8." in text


def _x(body: str) -> str:
    return re.search(r'class="chart-hit" x="([\d.]+)"', body).group(1)


def _height(body: str, klass: str) -> float:
    return float(re.search(rf'class="{klass}"[^>]* height="([\d.]+)"', body).group(1))


def test_a_key_never_used_says_so_instead_of_an_empty_chart(client, auth, pair):
    auth.login("admin@alpha.example")
    section = usage_section(client.get(PAGE).text, pair.key.id)
    assert "Last used never" in text_of(section)
    assert "No requests with this key in the last 30 days." in text_of(section)
    assert "<svg" not in section


def test_a_key_used_only_long_ago_draws_no_bars_either(client, auth, pair):
    db.session.add(ApiUsageCounter(key_id=pair.key.id, firm_id=pair.key.firm_id,
                                   hour=this_hour() - timedelta(days=40), status_class="2xx",
                                   count=5))
    db.session.commit()
    auth.login("admin@alpha.example")
    section = usage_section(client.get(PAGE).text, pair.key.id)
    assert "No requests with this key in the last 30 days." in text_of(section)


def test_counts_wait_in_memory_and_readers_write_them_first(app, client, auth, pair):
    hold_traffic(app)  # as in production: written every few seconds
    for _ in range(3):
        client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    assert counted() == {}
    auth.login("admin@alpha.example")
    assert "Requests, last 24 h 3" in text_of(client.get(PAGE).text)
    assert counted() == {"2xx": 3}


def hold_traffic_of(buffer: TrafficBuffer) -> TrafficBuffer:
    return hold_traffic(type("App", (), {"extensions": {"api_traffic": buffer}})())


def test_buffered_counts_add_up_across_flushes(app, pair):
    buffer = hold_traffic_of(TrafficBuffer(app, interval=3600))
    for status in (200, 200, 201, 404, 503):
        buffer.add(pair.key.id, pair.key.firm_id, status, None)
    buffer.flush()
    buffer.add(pair.key.id, pair.key.firm_id, 200, None)
    buffer.flush()
    assert counted() == {"2xx": 4, "4xx": 1, "5xx": 1}


def test_counts_survive_a_failed_write(app, pair, monkeypatch):
    buffer = hold_traffic_of(TrafficBuffer(app, interval=3600))
    buffer.add(pair.key.id, pair.key.firm_id, 200, None)
    real = traffic.write
    monkeypatch.setattr(traffic, "write", lambda counts, rows: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        buffer.flush()
    monkeypatch.setattr(traffic, "write", real)
    buffer.add(pair.key.id, pair.key.firm_id, 200, None)
    buffer.flush()
    assert counted() == {"2xx": 2}


def test_the_background_writer_flushes_on_its_own(app, pair):
    buffer = TrafficBuffer(app, interval=0.05)
    buffer.add(pair.key.id, pair.key.firm_id, 200, None)
    for _ in range(100):
        if counted():
            break
        buffer._flusher.join(0.05)
        db.session.rollback()
    buffer.stop()
    assert counted() == {"2xx": 1}
    assert not buffer._flusher.is_alive()


def _log_row(key, age: timedelta) -> ApiRequestLog:
    return ApiRequestLog(created_at=utcnow() - age, request_id="req_" + str(age.days),
                         firm_id=key.firm_id, key_id=key.id, method="GET", path=PING,
                         status=401, reason="WRONG_SECRET", duration_ms=1.0)


def _counter(key, age: timedelta) -> ApiUsageCounter:
    return ApiUsageCounter(key_id=key.id, firm_id=key.firm_id, hour=this_hour() - age,
                           status_class="2xx", count=1)


@pytest.mark.parametrize("args, kept_days", [([], {10, 89}), (["--days", "5"], set())])
def test_prune_logs_deletes_old_rows_only(runner, pair, args, kept_days):
    for days in (10, 89, 91, 400):
        db.session.add_all([_log_row(pair.key, timedelta(days=days)),
                            _counter(pair.key, timedelta(days=days))])
    db.session.commit()
    result = runner.invoke(args=["prune-logs", *args])
    assert result.exit_code == 0, result.output
    gone = 4 - len(kept_days)
    assert f"Deleted {gone} request log rows and {gone} usage counts" in result.output
    db.session.expire_all()
    kept = db.session.execute(select(ApiRequestLog.request_id)).scalars().all()
    assert {int(request_id[4:]) for request_id in kept} == kept_days
    assert db.session.execute(select(func.count()).select_from(ApiUsageCounter)).scalar() == len(
        kept_days)


def test_prune_logs_refuses_nonsense(runner):
    assert runner.invoke(args=["prune-logs", "--days", "0"]).exit_code != 0


def test_failures_by_reason_match_the_log(client, auth, pair):
    for headers in (basic(pair.key.api_key, wrong(pair.secret)),
                    {"X-API-Key": pair.key.api_key}):
        client.get(PING, headers=headers)
    reasons = Counter(db.session.execute(select(ApiRequestLog.reason)).scalars())
    auth.login("admin@alpha.example")
    text = text_of(usage_section(client.get(PAGE).text, pair.key.id))
    for reason, count in reasons.items():
        assert f"{reason} {count}" in text
