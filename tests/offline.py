"""Find what an HTML page would fetch from the web: external ``src``/``href`` and CSS urls."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)  # http://, https://, //
_CSS_URL = re.compile(
    r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:[a-z][a-z0-9+.-]*:)?//[^'")\s]+)""", re.I
)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            loads = name in ("src", "href", "srcset", "data", "poster", "action")
            if loads and value and _EXTERNAL.match(value):
                self.refs.append(f"<{tag} {name}={value!r}>")
            if name == "style" and value:
                self.refs += [f"<{tag} style url {u!r}>" for u in _CSS_URL.findall(value)]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.refs += [f"<style> url {u!r}" for u in _CSS_URL.findall(data)]


def external_refs(html: str) -> list[str]:
    """Every element attribute or stylesheet url in ``html`` that points off the machine."""
    p = _Refs()
    p.feed(html)
    p.close()
    return p.refs
