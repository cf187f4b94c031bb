"""Parsing the three report files the way a CI system would: each must be valid in its own format."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any


def _balanced_html(text: str) -> None:
    """Fail unless every non-void element of ``text`` is closed in order."""
    void = {"meta", "br", "hr", "img", "input", "link"}
    stack: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag not in void:
                stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert stack and stack.pop() == tag, (tag, stack)

    Checker().feed(text)
    assert stack == [], stack


def assert_reports_parse(directory: Path) -> tuple[ET.Element, dict[str, Any]]:
    """Parse junit.xml, report.json and report.html; a masked number or version would break them."""
    junit = ET.parse(directory / "junit.xml").getroot()
    report = json.loads((directory / "report.json").read_text())
    html = (directory / "report.html").read_text()
    _balanced_html(html)
    for text in [
        (directory / name).read_text() for name in ("junit.xml", "report.json", "report.html")
    ]:
        assert not re.search(r"\[REDACTED\][.\d]", text), "a number was masked"
    assert (directory / "junit.xml").read_text().startswith('<?xml version="1.0"')
    return junit, report
