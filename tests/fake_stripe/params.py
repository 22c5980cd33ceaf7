"""Decode Stripe's form encoding (``created[gte]=1``, ``expand[0]=x``) into nested values.

stripe-python encodes nested dicts as ``a[b]=v`` and lists as ``a[0]=v`` (it never sends
``a[]=v``, though Stripe accepts that too, so it is decoded here as well). Values stay
strings, exactly as received; the endpoints convert and validate them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid_param

__all__ = ["Params", "parse_params"]

Params = dict[str, Any]

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART_RE = re.compile(r"\[([^\[\]]*)\]")
_APPEND = ""


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {k: _listify(v) for k, v in value.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    if isinstance(value, list):
        return [_listify(v) for v in value]
    return value


def _insert(target: dict[str, Any], name: str, parts: list[str], value: str) -> None:
    node: Any = target
    keys = [name, *parts]
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        nxt = None if last else keys[depth + 1]
        if isinstance(node, list):  # reached through "[]": start a new element
            if last:
                node.append(value)
                return
            child: Any = [] if nxt == _APPEND else {}
            node.append(child)
            node = child
            continue
        if last:
            if key in node:
                raise invalid_param(name, f"Invalid value for {name}: repeated parameter.")
            node[key] = value
            return
        existing = node.get(key)
        wanted = list if nxt == _APPEND else dict
        if existing is None:
            existing = wanted()
            node[key] = existing
        elif not isinstance(existing, wanted):
            raise invalid_param(name, f"Invalid {name}: mixes a value and a hash.")
        node = existing


def parse_params(query: str) -> Params:
    """``'limit=3&created[gte]=1'`` -> ``{'limit': '3', 'created': {'gte': '1'}}``."""
    result: dict[str, Any] = {}
    for raw_key, value in parse_qsl(query, keep_blank_values=True):
        match = _KEY_RE.match(raw_key)
        if match is None:
            raise invalid_param(raw_key, f"Invalid parameter name: {raw_key}")
        _insert(result, match.group(1), _PART_RE.findall(match.group(2)), value)
    out = _listify(result)
    assert isinstance(out, dict)
    return out
