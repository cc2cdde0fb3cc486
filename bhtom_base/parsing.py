"""Small helpers every parser uses to turn bad input into a clear ``ParseError``."""
from __future__ import annotations

import json
import re

from .errors import ParseError

_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<\?xml[^>]*>\s*<html)", re.IGNORECASE)


def decode_text(content: bytes | str, *, what: str) -> str:
    """Bytes -> text (UTF-8, then Latin-1); an empty body is a ``ParseError``."""
    if isinstance(content, str):
        text = content
    else:
        if not content or not content.strip():
            raise ParseError(f"empty response where a {what} was expected")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
    if not text.strip():
        raise ParseError(f"empty response where a {what} was expected")
    if "\x00" in text:
        raise ParseError(f"binary data where a {what} was expected")
    return text.lstrip("\ufeff")


def looks_like_html(content: bytes | str) -> bool:
    head = content[:2048] if isinstance(content, bytes) else content[:2048].encode("utf-8", "replace")
    return bool(_HTML.match(head))


def reject_html(text: str, *, what: str) -> None:
    if looks_like_html(text):
        title = re.search(r"<title>(.*?)</title>", text[:4096], re.IGNORECASE | re.DOTALL)
        detail = f" ({title.group(1).strip()[:100]})" if title else ""
        raise ParseError(f"an HTML page{detail} where a {what} was expected")


def load_json(content: bytes | str, *, what: str) -> object:
    """The JSON value of a survey's answer; empty bodies, HTML pages and bad JSON are ParseErrors."""
    text = decode_text(content, what=what)
    reject_html(text, what=what)
    try:
        return json.loads(text)
    except ValueError as error:
        raise ParseError(f"unreadable {what} (not JSON: {error})") from None


def load_json_object(content: bytes | str, *, what: str) -> dict:
    """A JSON object from a survey; empty bodies, HTML pages, bad JSON and non-objects are ParseErrors."""
    value = load_json(content, what=what)
    if not isinstance(value, dict):
        raise ParseError(f"unreadable {what}: expected a JSON object, not an {type(value).__name__}")
    return value


def json_flag(value: object) -> bool | None:
    """A survey's JSON boolean (``true``, or the text ``"true"``/``"false"``); None when it says neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None
