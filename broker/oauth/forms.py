"""Reading OAuth requests strictly (RFC 6749 §3.1, §3.2).

The JSON endpoints take ``application/x-www-form-urlencoded`` bodies only. A parameter sent
twice is refused, one sent without a value counts as absent, and every value is bounded,
so nothing a client sends can reach a handler unchecked or turn into a 500.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiMapping

from broker.oauth.errors import InvalidRequest, UnsupportedMediaType

FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 32
_DEFAULT_MAX = 2048


async def read_form(request: web.Request) -> MultiDict[str]:
    """The body of an OAuth POST as a multidict; 415 for anything but a form."""
    if request.content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"the body must be {FORM_TYPE}")
    # request.read() honours client_max_size: an oversized body is a 413 before parsing.
    body = await request.read()
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form body is malformed") from None
    return MultiDict(pairs)


def param(
    form: MultiMapping[str],
    name: str,
    *,
    required: bool = False,
    max_length: int = _DEFAULT_MAX,
) -> str | None:
    """One parameter: at most once, bounded; empty means absent (RFC 6749 §3.1)."""
    values = form.getall(name, [])
    if len(values) > 1:
        raise InvalidRequest(f"{name} must not be repeated")
    value = values[0] if values else ""
    if not value:
        if required:
            raise InvalidRequest(f"{name} is required")
        return None
    if len(value) > max_length:
        raise InvalidRequest(f"{name} is too long")
    return value


def required(form: MultiMapping[str], name: str, *, max_length: int = _DEFAULT_MAX) -> str:
    value = param(form, name, required=True, max_length=max_length)
    assert value is not None
    return value
