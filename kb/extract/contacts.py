"""Media contacts of a news item: the person a "Media contact:" (or "Press contact", "Media inquiries") line
names, on the same line or the line after it."""

from __future__ import annotations

import re

from kb.extract.context import Context

_LABEL = re.compile(
    r"^\s*(?:Media|Press|News)\s+(?:Contacts?|Inquiries|Enquiries|Relations)\s*:?\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
# A person's name ends where the email, telephone number or affiliation begins.
_NAME = re.compile(r"(?P<name>[A-Z][\w'\u2019.-]*(?:\s+[A-Z][\w'\u2019.-]*){0,3})")


def extract_contacts(ctx: Context) -> None:
    """The media contacts the source document names, as their names."""
    passages = list(ctx.document.passages)
    for n, passage in enumerate(passages):
        label = _LABEL.match(passage.text)
        if label is None:
            continue
        target, start = passage, label.start("value")
        if not label.group("value") and n + 1 < len(passages):
            target, start = passages[n + 1], 0
        name = _NAME.match(target.text, start)
        if name is None or "@" in name.group("name"):
            continue
        value = name.group("name").rstrip(".")
        begin = target.start + name.start("name")
        ctx.add_value(ctx.source, "mediaContact", value, "string", begin, begin + len(value))
