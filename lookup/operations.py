"""The one lookup operation behind the page, the API and (later) the console."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from lookup import audit, dbapi
from lookup.inputs import ByBirth, ById
from lookup.limits import Asked, asked, hasher
from lookup.search import Answer, Contact, check_number, contact_for, find_by_birth, find_by_id

# The one answer for "nothing found", whatever the reason: a wrong name, a
# wrong birth date, a child not in the registry. Never vary it.
NOT_FOUND = ("未查询到符合条件的学籍信息。请核对学生姓名、证件号码等信息是否与户口簿一致；"
             "如仍无法查到，请联系学生就读学校的学籍管理员，或联系下列教育行政部门。")

KIND_TEXT = {
    "G": "正式学籍号（G 字头）：已与全国人口信息库比对，由学生本人的居民身份证号生成。",
    "J": "正式学籍号（J 字头）：学生暂无可用的居民身份证号，已通过全国学籍查重后生成。"
         "取得身份证号后，学校可申请换为 G 字头学籍号，原号码的变更记录会保留。",
    "L": "临时学籍号（L 字头）：学校已为学生建立学籍，但全国学籍查重尚未完成。"
         "查重通过后将换发正式学籍号；在此之前，转学、升学等业务可能无法办理。"
         "请联系学校学籍管理员了解进度，并尽快提供学生的身份证明材料。",
}


@dataclass(frozen=True)
class Result:
    asked: Asked
    outcome: str  # found, replaced, not_found or invalid
    answer: Answer | None = None
    contact: Contact | None = None


def perform_lookup() -> Result:
    """Answer the current request (a lookup or a number check) and audit it, durably."""
    current = asked()
    answer = contact = None
    query = current.query
    with dbapi.statements() as statements:
        if query is None:
            outcome = "invalid"
        else:
            if isinstance(query, ById):
                answer = find_by_id(statements, hasher(), query)
            elif isinstance(query, ByBirth):
                answer = find_by_birth(statements, query)
            else:
                answer = check_number(statements, query)
            if answer is None:
                outcome, contact = "not_found", contact_for(statements, query)
            else:
                outcome = "replaced" if answer.replaced_number else "found"
        g.lookup_outcome = outcome  # the identity limits count failures only
        audit.record(statements, current, outcome)
    return Result(current, outcome, answer, contact)
