"""``xueji mail requeue``: failed outgoing mail back in the queue, only failed mail, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from hotline.tickets.intake import now
from hotline.tickets.outbox import OutgoingMail
from mailintake.cli import mail
from tests.mailintake.conftest import message
from tests.mailintake.sender.conftest import T, due, rows, send

REFUSAL = "554 5.7.1 Relay access denied"


@pytest.fixture
def cli(app, runner, maildesk):
    def invoke(*args: str):
        return runner.invoke(mail, ["requeue", *args])
    return invoke


@pytest.fixture
def failed(desk, relay, sink):
    """The desk's acknowledgement, refused for good by a misconfigured relay (then fixed)."""
    sink.data_reply = REFUSAL
    assert send(desk, relay) == {"failed": 1}
    sink.data_reply = None
    [ack] = rows(desk)
    return ack


def snapshot(desk) -> list[tuple]:
    return [(r.id, r.status, r.attempts, r.next_attempt_at, r.last_error) for r in rows(desk)]


def test_a_requeued_mail_goes_out_and_its_earlier_attempts_stay_on_the_timeline(
        desk, relay, sink, cli, failed):
    before = now()
    result = cli("--id", str(failed.id))
    assert (result.exit_code, result.output) == (0, (
        f"发件 {failed.id}：工单 {desk.ticket_.number}，受理回执，"
        f"收件人 p****@qq.com，已尝试 1 次，已重新排队\n"
        "已重新排队 1 封，将由 xueji mail send 发送\n"))
    [ack] = rows(desk)
    # A fresh schedule (due now, the whole retry budget again); the last refusal is kept until the next try.
    assert (ack.status, ack.attempts, ack.last_error) == ("queued", 0, f"发信服务器拒收（{REFUSAL}）")
    assert before <= ack.next_attempt_at <= now()
    [noted] = desk.events(desk.ticket_, "mail_requeued")
    assert noted.text == "发给投诉人的受理回执邮件（此前 1 次尝试未发出）已重新排入发送队列"
    assert noted.actor == "运维人员（xueji mail requeue）"
    assert len(desk.events(desk.ticket_, "undeliverable")) == 1  # the failure's note stays too
    assert send(desk, relay, ack.next_attempt_at) == {"sent": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.last_error) == ("sent", 1, None)
    assert [r.message["Message-ID"] for r in sink.received] == [ack.message_id]


def test_a_dry_run_lists_what_would_be_requeued_and_changes_nothing(desk, cli, failed):
    before = snapshot(desk)
    result = cli("--all-failed", "--dry-run")
    assert (result.exit_code, result.output) == (0, (
        f"发件 {failed.id}：工单 {desk.ticket_.number}，受理回执，"
        f"收件人 p****@qq.com，已尝试 1 次，将重新排队\n"
        "试运行：将重新排队 1 封，未作任何改动\n"))
    assert snapshot(desk) == before and desk.events(desk.ticket_, "mail_requeued") == []


def test_all_failed_takes_every_failed_row_and_no_other(desk, relay, sink, cli, failed):
    desk.ingest(message("学校标识码 2113000002", sender="家长乙 <b@163.com>"))
    desk.ingest(message("学校标识码 2113000003", sender="家长丙 <c@163.com>"))
    due(desk, T)
    desk.session.execute(update(OutgoingMail).where(OutgoingMail.to_addr == "b@163.com")
                         .values(status="failed", attempts=16))
    desk.session.commit()
    result = cli("--all-failed")
    assert result.exit_code == 0 and result.output.endswith("已重新排队 2 封，将由 xueji mail send 发送\n")
    assert "已尝试 16 次" in result.output
    assert [(r.to_addr, r.status, r.attempts) for r in rows(desk)] == [
        ("parent@qq.com", "queued", 0), ("b@163.com", "queued", 0), ("c@163.com", "queued", 0)]
    again = cli("--all-failed")
    assert (again.exit_code, again.output) == (0, "没有发送失败的邮件\n")


@pytest.mark.parametrize("status, expected", [
    ("sent", "发件 {other} 的状态是“已发送”，只有“发送失败”的邮件可以重新排队；未作任何改动"),
    ("queued", "发件 {other} 的状态是“等待发送”，只有“发送失败”的邮件可以重新排队；未作任何改动"),
    ("sending", "发件 {other} 的状态是“正在发送”，只有“发送失败”的邮件可以重新排队；未作任何改动"),
    ("missing", "没有编号为 {missing} 的发件；未作任何改动"),
])
def test_a_row_that_is_not_failed_refuses_the_whole_command(desk, cli, failed, status, expected):
    desk.ingest(message("学校标识码 2113000002", sender="家长乙 <b@163.com>"))
    _, other = rows(desk)
    if status != "missing":
        desk.session.execute(update(OutgoingMail).where(OutgoingMail.id == other.id).values(status=status))
        desk.session.commit()
    before = snapshot(desk)
    named = other.id if status != "missing" else other.id + 1000
    result = cli("--id", str(failed.id), "--id", str(named))
    assert result.exit_code == 1
    assert result.output == "Error: " + expected.format(other=other.id, missing=other.id + 1000) + "\n"
    assert snapshot(desk) == before and desk.events(desk.ticket_, "mail_requeued") == []


@pytest.mark.parametrize("args", [(), ("--id", "1", "--all-failed")], ids=["neither", "both"])
def test_requeue_needs_either_ids_or_all_failed(cli, args):
    result = cli(*args)
    assert result.exit_code == 2 and "请指定 --id N（可重复）或 --all-failed，二者选一" in result.output

