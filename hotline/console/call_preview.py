"""The preview of a call (来电登记预览): where the matter goes, and what to tell the caller.

:func:`prepare` reads the call form the way :func:`hotline.tickets.workflow.create_ticket`
will: it resolves the schools (codes, or names meaning exactly one school),
looks the students up, and routes the matter from the agent's unit with
``hotline.routing.route`` (2014 notice item 1). What it finds wrong is added
to the form's fields, in Chinese. Nothing is written.

The preview carries a keyed :func:`fingerprint` of everything that decides
the ticket (the fields, the routing decision, what the lookups found). The
form sends it back on "保存", and a save whose fingerprint no longer matches
is previewed again instead: the ticket is always exactly what the agent saw.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from hotline import routing
from hotline.console.access import Principal
from hotline.console.call_forms import CallForm
from hotline.console.call_search import (
    CANDIDATES,
    SchoolHit,
    StudentFinding,
    known_codes,
    look_up,
    schools_named,
)
from hotline.routing_rule import LEVEL_TEXT
from hotline.tickets.contacts import normalize_email, normalize_phone
from hotline.tickets.intake import NewTicket
from lookup.inputs import ById, parse_name, parse_query
from lookup.models import NATIONAL_CODE
from lookup.numbers import NumberError, parse_school_code

MAX_SCHOOLS = 20
# Codes and names may be separated by commas (either width), 、, semicolons, spaces or new lines.
_SEPARATORS = re.compile(r"[,，、;；\s]+")

RULE_TEXT = {
    "one_school": "仅涉及一所学校：由该校的直接主管教育行政部门处理",
    "common_authority": "涉及多所学校：由各校直接主管部门共同的上级处理",
    "triage": "未指明涉及的学校：由受理单位分办",
}
DIRECTION_TEXT = {
    "same": "由本单位办理",
    "lower": "应由下级单位办理：保存后逐级转办，或告知来电人下级单位的受理电话",
    "higher": "应由上级单位办理：保存后直接转交",
    "elsewhere": "应由其他地区的单位办理：保存后直接转交",
}
# The sentence for several schools handled above their authorities: what they span.
_SPAN = {"national": "多个省份", "province": "多个地市", "prefecture": "多个县区", "county": "多所学校"}


@dataclass(frozen=True)
class Preview:
    """What saving the call will do, as the agent reads it before saving."""

    decision: routing.Decision
    school_codes: tuple[str, ...]
    students: tuple[StudentFinding, ...]
    say: str  # the sentence to say to the caller
    channels: routing.Channels | None  # the lower unit's published channels, to read out
    report: str | None  # why a 报告单 to the ministry will be filed
    fingerprint: str

    @property
    def kind(self) -> str:
        """triage, same, lower, higher or elsewhere: how the ticket moves once saved."""
        return "triage" if self.decision.rule == "triage" else (self.decision.relation or "same")

    @property
    def rule_text(self) -> str:
        return RULE_TEXT[self.decision.rule]

    @property
    def direction(self) -> str:
        return RULE_TEXT["triage"] if self.kind == "triage" else DIRECTION_TEXT[self.kind]

    @property
    def can_refer(self) -> bool:
        """2014 notice item 2: a caller may be given the lower unit's hotline instead."""
        return self.kind == "lower" and self.channels is not None


def _handler(level: str) -> str:
    return "国务院教育行政部门（教育部）" if level == "national" else LEVEL_TEXT[level] + "教育行政部门"


def what_to_say(decision: routing.Decision, channels: routing.Channels | None) -> str:
    """The sentence the agent says to the caller about where the matter goes."""
    unit = decision.unit
    if decision.rule == "triage":
        return "您反映的问题我们已经记录，将尽快确定负责处理的单位并转交办理。"
    if decision.relation == "same":
        return f"您反映的问题由我们（{unit.name}）负责处理，我们已为您登记。"
    if decision.relation == "lower":
        if channels is None:
            return f"您反映的问题按规定由{unit.name}处理，我们已为您登记，将逐级转交该单位办理。"
        given = "，".join(f"{label} {value}" for label, value in
                         (("电话", channels.phone), ("邮箱", channels.email)) if value)
        return (f"您反映的问题按规定由{unit.name}处理。您可以直接联系{channels.unit.name}：{given}；"
                f"我们也可以为您登记，逐级转交该单位办理。")
    spans = (decision.rule == "common_authority"
             and unit.code not in {authority.code for authority in decision.authorities})
    if spans:
        why = f"您反映的问题涉及{_SPAN[unit.level]}，按规定由{_handler(unit.level)}处理"
    else:
        why = f"您反映的问题涉及的学校由{unit.name}主管，按规定由该单位处理"
    return why + "，我们已为您转交。"


def lower_channels(session: Session, decision: routing.Decision, receiving: str) -> routing.Channels | None:
    """The channels to read out when a lower unit is responsible, if one below us published any.

    A channel published by the receiving unit itself (or above it) would
    only send the caller back here (``hotline.routing``'s own rule).
    """
    if decision.rule == "triage" or decision.relation != "lower":
        return None
    channels = routing.published_channels(session, decision.unit.code)
    if routing.relation(session, receiving, channels.unit.code) != "lower":
        return None
    return channels


def report_note(decision: routing.Decision, category: str, receiving: str) -> str | None:
    """2016 notice part 2: cross-province matters and faults of the system itself go to the
    ministry on a 报告单 (filed by create_ticket; not when the ministry took the call)."""
    if receiving == NATIONAL_CODE:
        return None
    if decision.cross_province:
        return "涉及不同省份，属跨省业务：保存时将自动填报报告单，报告教育部（教基一厅〔2016〕2号）。"
    if category == "system_fault":
        return "属系统运行中存在的问题：保存时将自动填报报告单，报告教育部（教基一厅〔2016〕2号）。"
    return None


def read_schools(session: Session, form: CallForm) -> tuple[list[str], list[SchoolHit], bool]:
    """The 学校标识码 the field names, with names resolved; errors go to the field.

    A name meaning exactly one school is replaced by its code in the field,
    so the form shows (and saves) what was resolved. A name meaning several
    gives the candidates to choose from.
    """
    field = form.schools
    tokens = [t for t in _SEPARATORS.split(field.data or "") if t]
    if len(tokens) > MAX_SCHOOLS:  # refused before any name is searched: one query per name
        field.errors.append(f"一次最多填写 {MAX_SCHOOLS} 所学校")
        return [], [], False
    codes, candidates, shown = [], [], []
    for token in tokens:
        try:
            code = parse_school_code(token)
        except NumberError as exc:
            if token.isdigit() or len(token) > 64:
                field.errors.append(f"“{token[:64]}”：{exc.message}")
                shown.append(token)
                continue
            hits = schools_named(session, token)
            if len(hits) != 1:
                field.errors.append(f"“{token}”对应多所学校，请改填下列学校之一的标识码" if hits
                                    else f"没有名称含“{token}”的学校，请核对校名或改填学校标识码")
                candidates += hits[:CANDIDATES]
                shown.append(token)
                continue
            code = hits[0].code
        codes.append(code)
        shown.append(code)
    codes = list(dict.fromkeys(codes))
    known = known_codes(session, codes)
    unknown = [code for code in codes if code not in known]
    if unknown:
        field.errors.append("未知的学校标识码：" + "、".join(unknown))  # as routing.route words it
    field.data = "，".join(dict.fromkeys(shown))
    return codes, candidates, not field.errors


def read_students(form: CallForm) -> tuple[list[ById | str], bool]:
    """Each student row as a lookup by name and ID number, or a name alone; errors to the row."""
    queries: list[ById | str] = []
    ok = True
    for entry in form.students:
        row = entry.form
        name, id_number = (row.name.data or "").strip(), (row.id_number.data or "").strip()
        if not (name or id_number):
            continue
        try:
            if id_number:
                queries.append(parse_query({"name": name, "id_number": id_number}, way="id"))
            else:
                queries.append(parse_name({"name": name}))
        except NumberError as exc:
            getattr(row, exc.field).errors.append(exc.message)
            ok = False
    return queries, ok


def fingerprint(form: CallForm, principal: Principal, codes: list[str], decision: routing.Decision,
                findings: list[StudentFinding], channels: routing.Channels | None) -> str:
    """A keyed hash of everything that decides the ticket; the form carries it from preview to save."""
    content = {
        "unit": principal.unit_code,
        "caller": [(form.caller_name.data or "").strip(), form.relation.data,
                   normalize_phone(form.phone.data), normalize_email(form.email.data)],
        "category": form.category.data,
        "schools": codes,
        "students": [[f.ref.name, f.ref.id_hash, f.ref.number, f.outcome] for f in findings],
        "subject": (form.subject.data or "").strip(),
        "description": _text(form.description.data),
        "decision": [decision.unit.code, decision.rule, decision.relation, decision.cross_province],
        "channels": [channels.unit.code, channels.phone, channels.email] if channels else None,
    }
    message = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"xueji-call-preview\0" + message, hashlib.sha256).hexdigest()


def _text(value: str | None) -> str:
    # A browser sends a textarea's line breaks as CRLF; the same text typed twice is the same text.
    return (value or "").replace("\r\n", "\n")


def prepare(session: Session, principal: Principal,
            form: CallForm) -> tuple[Preview | None, list[SchoolHit]]:
    """The preview of a validated call form, or None with the errors added to its fields;
    and the schools a name could mean (candidates to choose from)."""
    valid = not _field_errors(form)
    codes, candidates, schools_ok = read_schools(session, form)
    queries, students_ok = read_students(form)
    if not (valid and schools_ok and students_ok):
        return None, candidates
    try:
        decision = routing.route(session, codes, receiving_unit_code=principal.unit_code)
    except routing.RoutingError as exc:
        form.schools.errors.append(str(exc))
        return None, candidates
    findings = look_up(queries)
    channels = lower_channels(session, decision, principal.unit_code)
    return Preview(
        decision=decision,
        school_codes=tuple(codes),
        students=tuple(findings),
        say=what_to_say(decision, channels),
        channels=channels,
        report=report_note(decision, form.category.data, principal.unit_code),
        fingerprint=fingerprint(form, principal, codes, decision, findings, channels),
    ), candidates


def _field_errors(form: CallForm) -> bool:
    # form.errors of a FieldList is a snapshot taken by validate(); read the fields themselves.
    fields = [f for name, f in form._fields.items() if name != "students"]
    fields += [sub for entry in form.students for sub in entry.form]
    return any(f.errors for f in fields)


def new_ticket(form: CallForm, preview: Preview, principal: Principal) -> NewTicket:
    """The ticket the preview described: a phone call received by the agent's unit."""
    return NewTicket(
        channel="phone",
        category=form.category.data,
        subject=form.subject.data,
        description=_text(form.description.data),
        receiving_unit_code=principal.unit_code,
        school_codes=preview.school_codes,
        students=[finding.ref for finding in preview.students],
        complainant_name=(form.caller_name.data or "").strip() or None,
        relation=form.relation.data,
        phone=form.phone.data,
        email=form.email.data,
    )
