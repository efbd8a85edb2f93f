"""A griffe extension for the API reference: Sphinx roles in docstrings become code.

The docstrings are Google style but name other objects the Sphinx way (``:meth:`wait```,
``:class:`Polling```) and end a line with ``::`` before an indented example. Markdown
knows neither, so ``:meth:`x``` becomes ```x``` and ``::`` a plain colon (the indented
example is already a Markdown code block).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:meth|class|func|attr|exc|data|mod|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"(\S)::$", re.MULTILINE)


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = _ROLE.sub(r"`\1`", obj.docstring.value)
            obj.docstring.value = _LITERAL.sub(r"\1:", text)
