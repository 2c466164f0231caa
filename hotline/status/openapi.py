"""The status API's part of the OpenAPI 3.1 document served at /api/v1/openapi.json.

``create_app`` puts :data:`FRAGMENT` in ``app.extensions["xueji.openapi"]``;
the document merges every fragment found there (its paths and schemas), so
``lookup`` describes the status route without importing ``hotline``'s
tickets. ``Invalid`` and ``RateLimited`` are the lookup's schemas: the
answers are the same.
"""

from __future__ import annotations

from typing import Any

_NULLABLE_TEXT = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601，北京时间（+08:00）"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "TicketStatus": {
        "type": "object",
        "description": "工单办理进度；字段名参照 Open311 GeoReport v2。不含任何个人信息。",
        "required": ["service_request_id", "status", "status_notes", "step", "service_code", "service_name",
                     "agency_responsible", "agency_contact", "requested_datetime", "updated_datetime",
                     "expected_datetime", "expected_provisional", "paused"],
        "properties": {
            "service_request_id": {"type": "string", "description": "工单编号，如 2026-000123"},
            "status": {"enum": ["open", "closed"]},
            "status_notes": {"type": "string", "description": "当前环节，如 核查中"},
            "step": {"enum": ["triage", "forwarding", "verify_issue", "verifying", "deciding", "handling",
                              "confirming", "closed"], "description": "当前环节（机器可读）"},
            "service_code": {"type": "string", "description": "问题类别（机器可读）"},
            "service_name": {"type": "string", "description": "问题类别，如 投诉"},
            "agency_responsible": {"type": "string",
                                   "description": "负责处理的教育行政部门（分办中为受理单位）"},
            "agency_contact": {
                "type": "object", "required": ["unit", "phone", "email"],
                "description": "负责单位公布的投诉电话和邮箱；未公布时为最近的已公布上级单位",
                "properties": {"unit": {"type": "string"}, "phone": _NULLABLE_TEXT, "email": _NULLABLE_TEXT}},
            "requested_datetime": _TIME,
            "updated_datetime": _TIME,
            "expected_datetime": {
                **_TIME, "type": ["string", "null"],
                "description": "当前环节的办理期限（该日 24:00 北京时间）；无计时环节为 null"},
            "expected_provisional": {"type": "boolean",
                                     "description": "期限为暂定：所涉年度的国务院节假日安排尚未公布"},
            "paused": {"type": "boolean", "description": "当前环节暂停计时（不公开原因）"},
        },
    },
    "TicketNotFound": {
        "type": "object", "required": ["error", "message"],
        "description": "工单编号不存在与联系方式不符，答复完全相同",
        "properties": {"error": {"const": "not_found"}, "message": {"type": "string"}},
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/tickets/{number}": {"get": {
        "summary": "查询工单办理进度",
        "operationId": "ticket_status",
        "parameters": [
            {"name": "number", "in": "path", "required": True,
             "description": "工单编号，如 2026-000123（可含全角数字和空格）",
             "schema": {"type": "string", "maxLength": 254}},
            {"name": "contact", "in": "query", "required": True,
             "description": "受理时留下的电话号码或电子邮箱",
             "schema": {"type": "string", "maxLength": 254}},
        ],
        "responses": {
            "200": _json(_ref("TicketStatus"), "办理进度"),
            "400": _json(_ref("Invalid"), "输入有误：指出出错的字段（number 或 contact）"),
            "404": _json(_ref("TicketNotFound"), "未查到：统一答复，不说明是编号还是联系方式不符"),
            "429": _json(_ref("RateLimited"), "查询过于频繁；Retry-After 头给出可重试的秒数"),
        },
    }},
}

FRAGMENT: dict[str, Any] = {"paths": PATHS, "schemas": SCHEMAS}
