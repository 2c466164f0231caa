"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lookup.inputs import MAX_FIELD

_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_FIELD}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_FAILURES = {
    "400": _json(_ref("Invalid"), "输入有误：指出出错的字段和原因（不涉及任何学生是否存在）"),
    "404": _json(_ref("NotFound"), "未查询到：统一答复，不说明是哪项信息不符"),
    "413": _json(_ref("Invalid"), "请求体过大"),
    "429": _json(_ref("RateLimited"), "查询过于频繁；Retry-After 头给出可重试的秒数"),
}

_SCHEMAS: dict[str, Any] = {
    "LookupById": {
        "type": "object", "additionalProperties": False, "required": ["name", "id_number"],
        "properties": {"name": {**_TEXT, "description": "学生姓名"},
                       "id_number": {**_TEXT, "description": "居民身份证号（18位，或15位旧号）"}},
    },
    "LookupByBirth": {
        "type": "object", "additionalProperties": False, "required": ["name", "birth_date", "school_code"],
        "properties": {"name": {**_TEXT, "description": "学生姓名"},
                       "birth_date": {**_TEXT, "description": "出生日期，如 2013-07-01"},
                       "school_code": {**_TEXT, "description": "学校标识码（10位数字）"}},
    },
    "Check": {
        "type": "object", "additionalProperties": False, "required": ["name", "number"],
        "properties": {"name": {**_TEXT, "description": "学生姓名"},
                       "number": {**_TEXT, "description": "全国学籍号（可以是旧号）"}},
    },
    "Student": {
        "type": "object",
        "required": ["number", "kind", "kind_text", "school", "status", "replaced"],
        "properties": {
            "number": {"type": "string", "description": "现用全国学籍号；G 字头号码在核对结果中脱敏显示"},
            "kind": {"enum": ["G", "J", "L"]},
            "kind_text": {"type": "string", "description": "号码类别的说明"},
            "school": {"type": "object", "required": ["code", "name"],
                       "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
            "status": {"type": "string", "description": "学籍状态，如 在读"},
            "replaced": {"type": "array", "description": "曾用学籍号，最近的在前；G 字头号码脱敏",
                         "items": {"type": "object", "required": ["number", "reason", "changed_on"],
                                   "properties": {"number": {"type": "string"},
                                                  "reason": {"type": "string"},
                                                  "changed_on": {"type": "string", "format": "date"}}}},
        },
    },
    "CheckResult": {
        "allOf": [_ref("Student"), {
            "type": "object", "required": ["result", "asked"],
            "properties": {"result": {"enum": ["current", "replaced"]},
                           "asked": {"type": "string", "description": "所核对的学籍号"}}}],
    },
    "NotFound": {
        "type": "object", "required": ["error", "message", "contact"],
        "properties": {
            "error": {"const": "not_found"}, "message": {"type": "string"},
            "contact": {"type": "object", "description": "可联系的教育行政部门（仅依据所填信息推定）",
                        "properties": {"unit": {"type": "object"}, "phone": {"type": ["string", "null"]},
                                       "email": {"type": ["string", "null"]},
                                       "school": {"type": ["string", "null"]},
                                       "national_hotline": {"type": "string"}}},
        },
    },
    "Invalid": {
        "type": "object", "required": ["error", "message"],
        "properties": {"error": {"enum": ["invalid", "too_large"]}, "field": {"type": "string"},
                       "code": {"type": "string"}, "message": {"type": "string"}},
    },
    "RateLimited": {
        "type": "object", "required": ["error", "message", "retry_after"],
        "properties": {"error": {"const": "rate_limited"}, "message": {"type": "string"},
                       "retry_after": {"type": "integer", "description": "秒"}},
    },
}


def document(fragments: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The whole document; a test checks that it names every route under /api/v1.

    ``fragments`` describe routes served outside lookup/ (each a dict of
    ``paths`` and ``schemas``; ``create_app`` lists them in
    ``app.extensions["xueji.openapi"]``), so lookup imports none of them.
    """
    paths: dict[str, Any] = {
        "/api/v1/lookup": {"post": {
            "summary": "查询全国学籍号",
            "operationId": "lookup",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [_ref("LookupById"), _ref("LookupByBirth")]}}}},
            "responses": {"200": _json(_ref("Student"), "查到的学籍号"), **_FAILURES},
        }},
        "/api/v1/check": {"post": {
            "summary": "核对学籍号是否现用，或已变更为何号码",
            "operationId": "check",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("Check")}}},
            "responses": {"200": _json(_ref("CheckResult"), "现用，或已变更"), **_FAILURES},
        }},
        "/api/v1/openapi.json": {"get": {
            "summary": "本接口说明（OpenAPI 3.1）",
            "operationId": "openapi",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 文档")},
        }},
    }
    schemas = dict(_SCHEMAS)
    for fragment in fragments:
        paths.update(fragment["paths"])
        schemas.update(fragment["schemas"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "全国学籍号查询接口",
            "version": "1",
            "description": "按姓名与身份证号，或姓名、出生日期与学校标识码查询全国学籍号；"
                           "核对旧学籍号。每次查询均留痕；按客户端地址和被查询身份限制频率。",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
