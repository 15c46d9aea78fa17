"""Compass clients (the Kyma runtime agent among them) send `configuration()`:
an empty argument list, which the GraphQL grammar rejects. Such lists are
removed before parsing, outside string literals only."""

from __future__ import annotations

import re

__all__ = ["drop_empty_argument_lists"]

# A block string, a string, or an empty argument list (commas count as blanks in GraphQL).
_TOKEN = re.compile(r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n])*"|\([\s,]*\)')


def drop_empty_argument_lists(query: str) -> str:
    def keep_strings(match: re.Match[str]) -> str:
        text = match.group(0)
        return text if text.startswith('"') else ""

    return _TOKEN.sub(keep_strings, query)
