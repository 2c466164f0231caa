"""Synthetic tickets for bench/dashboard.py: a year of the national hotline, generated inside PostgreSQL.

Each ticket is received at a random instant of the 52 weeks before now, at
a unit drawn like the real load (85 % counties, 10 % prefectures, 4 %
provinces, 1 % the ministry). 60 % are answered directly (one 3-day
clock); the others go through the 核查单 and the 督办单 (four clocks: 3, 5,
5 and 5 working days). Each step takes a random time, a few days as a
rule; in 2 % of the tickets one step stalls for one to four months. A
ticket stands where that timeline is at ``now``: the older ones closed with
every clock stopped and judged, the recent ones open at some step, the
stalled ones open and overdue. Due dates come from the real working-day
calendar (a table of working-day ordinals built from it), and each stop
has its timeline entry naming one of three agents of the unit.
"""

from __future__ import annotations

import datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar

DAYS = "bench_days"


def fill(engine: Engine, n: int, now: datetime.datetime) -> None:
    from lookup.registry import seed

    with Session(engine) as session:
        seed(session)
        session.commit()
        calendar = WorkCalendar.from_session(session)
    first = (now - datetime.timedelta(weeks=53)).date()
    last = (now + datetime.timedelta(days=400)).date()
    rows, ordinal, day = [], 0, first
    while day <= last:
        working = calendar.is_working_day(day)
        ordinal += working
        rows.append({"day": day, "ordinal": ordinal, "working": working})
        day += datetime.timedelta(days=1)
    with engine.begin() as c:
        c.exec_driver_sql(f"CREATE TABLE {DAYS} (day date PRIMARY KEY, ordinal int, working bool)")
        c.execute(text(f"INSERT INTO {DAYS} VALUES (:day, :ordinal, :working)"), rows)
        c.exec_driver_sql("""
            CREATE TABLE bench_units AS
            SELECT level, code, (row_number() OVER (PARTITION BY level ORDER BY code)) - 1 AS idx,
                   count(*) OVER (PARTITION BY level) AS total
            FROM units WHERE active""")
        c.exec_driver_sql("SELECT setseed(0.2026)")
        # CREATE TABLE AS takes no bound parameters: both values are ours, written out.
        c.exec_driver_sql(PLAN.format(n=int(n), now=now.isoformat()))
        c.exec_driver_sql(STEPS)
        c.execute(text(TICKETS), {"now": now})
        c.execute(text(CLOCKS), {"now": now})
        c.execute(text(EVENTS), {"now": now})
        c.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))")
        c.exec_driver_sql(f"DROP TABLE bench_plan, bench_steps, bench_units, {DAYS}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in ("tickets", "ticket_clocks", "ticket_events"):
            c.exec_driver_sql(f"VACUUM ANALYZE {table}")


# One row per ticket: where, when, how it is handled, and when each step ends (t1..t4).
PLAN = """
CREATE TABLE bench_plan AS
WITH draw AS (
    SELECT i, random() AS r_level, random() AS r_unit, random() AS r_when, random() AS r_kind,
           random() AS r_stall, random() AS r_agent,
           random() AS r1, random() AS r2, random() AS r3, random() AS r4
    FROM generate_series(1, {n}) AS i
), placed AS (
    SELECT d.*, CASE WHEN r_level < 0.85 THEN 'county' WHEN r_level < 0.95 THEN 'prefecture'
                     WHEN r_level < 0.99 THEN 'province' ELSE 'national' END AS level
    FROM draw d
), planned AS (
    SELECT p.i AS id, u.code AS unit_code,
           CAST('{now}' AS timestamptz) - (p.r_when * interval '364 days') AS received_at,
           p.r_kind < 0.6 AS direct, floor(p.r_agent * 3)::int AS agent,
           -- hours each step takes: mostly one to four days, with a long tail
           interval '1 hour' * (2 + 90 * p.r1 * p.r1) AS d1,
           interval '1 hour' * (20 + 160 * p.r2 * p.r2) AS d2,
           interval '1 hour' * (4 + 140 * p.r3 * p.r3) AS d3,
           interval '1 hour' * (20 + 180 * p.r4 * p.r4) AS d4,
           CASE WHEN p.r_stall < 0.02 THEN 1 + mod(floor(p.r_stall * 200)::int, 4) ELSE 0 END AS stalled,
           interval '1 day' * (30 + 90 * p.r3) AS stall
    FROM placed p JOIN bench_units u ON u.level = p.level AND u.idx = floor(p.r_unit * u.total)::int
)
SELECT id, unit_code, received_at, direct, agent,
       received_at + d1 + CASE WHEN stalled = 1 THEN stall ELSE interval '0' END AS t1,
       received_at + d1 + d2 + CASE WHEN stalled BETWEEN 1 AND 2 THEN stall ELSE interval '0' END AS t2,
       received_at + d1 + d2 + d3 + CASE WHEN stalled BETWEEN 1 AND 3 THEN stall ELSE interval '0' END AS t3,
       received_at + d1 + d2 + d3 + d4 + CASE WHEN stalled >= 1 THEN stall ELSE interval '0' END AS t4
FROM planned
"""

# One row per step a ticket goes through, with its clock's start day and due day.
STEPS = f"""
CREATE TABLE bench_steps AS
SELECT p.id, s.k, s.step, s.days, s.started, s.ended, p.unit_code, p.agent, p.direct,
       b.day AS start_day, w.day AS due_day
FROM bench_plan p CROSS JOIN LATERAL (VALUES
    (1, 'verify_issue', 3, p.received_at, p.t1),
    (2, 'verifying', 5, p.t1, p.t2),
    (3, 'deciding', 5, p.t2, p.t3),
    (4, 'handling', 5, p.t3, p.t4)) AS s(k, step, days, started, ended)
JOIN {DAYS} b ON b.day = CAST((s.started AT TIME ZONE 'Asia/Shanghai') AS date)
JOIN {DAYS} w ON w.working AND w.ordinal = b.ordinal + s.days
WHERE s.k = 1 OR NOT p.direct
"""
TICKETS = """
INSERT INTO tickets (id, number, channel, category, subject, description, step, received_at, updated_at,
                     receiving_unit_code, responsible_unit_code, current_unit_code, routing_rule,
                     routing_trace, cross_province, disputed)
SELECT p.id, 'B-' || lpad(p.id::text, 9, '0'), 'phone', 'complaint', '测试', '测试',
       CASE WHEN (p.direct AND p.t1 <= :now) OR p.t4 <= :now THEN 'closed'
            WHEN p.t1 > :now THEN 'verify_issue' WHEN p.t2 > :now THEN 'verifying'
            WHEN p.t3 > :now THEN 'deciding' ELSE 'handling' END,
       p.received_at, p.received_at, p.unit_code, p.unit_code, p.unit_code, 'one_school', '[]', false, false
FROM bench_plan p
"""

# A clock per step begun before now; stopped (and judged) if the step ended before now.
CLOCKS = """
INSERT INTO ticket_clocks (ticket_id, step, unit_code, started_at, start_day, days, extra_days, due_day,
                           due_at, provisional, stopped_at, on_time)
SELECT s.id, s.step, s.unit_code, s.started, s.start_day, s.days, 0, s.due_day,
       s.due_at, s.due_day >= DATE '2027-01-01',
       CASE WHEN s.ended <= :now THEN s.ended END,
       CASE WHEN s.ended <= :now THEN s.ended <= s.due_at END
FROM (SELECT *, CAST(due_day + 1 AS timestamp) AT TIME ZONE 'Asia/Shanghai' AS due_at FROM bench_steps) AS s
WHERE s.started <= :now
"""

# The timeline: received, each stop by one of the unit's agents, and the closing.
EVENTS = """
INSERT INTO ticket_events (ticket_id, at, actor, unit_code, kind, text)
SELECT p.id, p.received_at, '坐席' || p.agent, p.unit_code, 'received', '受理' FROM bench_plan p
UNION ALL
SELECT s.id, s.ended, '办理人' || s.agent, s.unit_code,
       CASE WHEN s.direct THEN 'closed' WHEN s.k IN (1, 3) THEN 'form_issued' ELSE 'form_returned' END, '办理'
FROM bench_steps s WHERE s.ended <= :now
UNION ALL
SELECT s.id, s.ended, '办理人' || s.agent, s.unit_code, 'closed', '办结'
FROM bench_steps s WHERE NOT s.direct AND s.k = 4 AND s.ended <= :now
"""
