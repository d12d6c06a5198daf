"""A small reader for the admin pages: elements by `data-testid`, their text, and the
form around them (what a browser would submit), with nothing but the standard library."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})


@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    form: Form | None
    raw_text: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.raw_text.split())


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.body: dict[str, str] = {}
        self.forms: list[Form] = []
        self._testids: dict[str, list[Element]] = {}
        self._open: list[Element] = []
        self._form: Form | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "body":
            self.body = values
        if tag == "form":
            self._form = Form(values.get("action", ""), values.get("method", "get"), values)
            self.forms.append(self._form)
        if tag == "input" and self._form is not None and "name" in values:
            self._form.fields[values["name"]] = values.get("value", "")
        element = Element(tag, values, self._form)
        if "data-testid" in values:
            self._testids.setdefault(values["data-testid"], []).append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break
        if tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.raw_text += data

    def all(self, testid: str) -> list[Element]:
        return self._testids.get(testid, [])

    def one(self, testid: str) -> Element:
        found = self.all(testid)
        assert len(found) == 1, f"{len(found)} elements with data-testid={testid!r}"
        return found[0]

    def texts(self, testid: str) -> list[str]:
        return [element.text for element in self.all(testid)]
