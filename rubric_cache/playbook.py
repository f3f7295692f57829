"""A playbook as extraction reads it: checked text, its hash, and its passages with their exact wording.

Every extracted step cites a passage; a passage's ``text`` is a verbatim slice of the document (a
list item without its bullet, a paragraph, a heading without its hashes), so a citation can always be
found again with ``Playbook.contains``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rubric_cache.errors import PlaybookError

MAX_PLAYBOOK_BYTES = 2_000_000
"""About 400 pages of text; a playbook is rarely over 100 KB. Larger is probably not a playbook."""

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,3}[.)])\s+(.+)$")


@dataclass(frozen=True)
class Passage:
    index: int
    kind: str
    """"heading", "item" or "paragraph"."""
    text: str
    """Verbatim from the document (markers stripped from the start only)."""
    heading: str
    """The nearest heading above it ("" before the first)."""
    depth: int = 0
    """List nesting (0 = top level); headings: their level."""


@dataclass(frozen=True)
class Playbook:
    name: str
    text: str
    sha256: str

    def passages(self) -> list[Passage]:
        out: list[Passage] = []
        heading = ""
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                out.append(Passage(len(out), "paragraph", "\n".join(paragraph), heading))
                paragraph.clear()

        for line in self.text.splitlines():
            if not line.strip():
                flush()
                continue
            if m := _HEADING.match(line):
                flush()
                heading = m.group(2)
                out.append(Passage(len(out), "heading", heading, heading, len(m.group(1))))
            elif m := _ITEM.match(line):
                flush()
                out.append(Passage(len(out), "item", m.group(3).rstrip(), heading, len(m.group(1)) // 2))
            else:
                paragraph.append(line.strip())
        flush()
        return out

    def contains(self, quote: str) -> bool:
        """``quote`` appears in the document, ignoring differences in whitespace."""
        return _squash(quote) in _squash(self.text) if quote.strip() else False


def _squash(text: str) -> str:
    return " ".join(text.split())


def read_playbook(path: Path) -> Playbook:
    if not path.is_file():
        raise PlaybookError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_PLAYBOOK_BYTES:
        raise PlaybookError(
            f"{path} is {size / 1e6:.1f} MB; a playbook over {MAX_PLAYBOOK_BYTES / 1e6:.0f} MB is refused: "
            "import the sales section, not the whole wiki"
        )
    return parse_playbook(path.name, path.read_bytes())


def parse_playbook(name: str, data: bytes) -> Playbook:
    if len(data) > MAX_PLAYBOOK_BYTES:
        raise PlaybookError(f"{name} is over {MAX_PLAYBOOK_BYTES / 1e6:.0f} MB: import the sales section only")
    if b"\x00" in data[:8192]:
        raise PlaybookError(f"{name} is a binary file; export the playbook as markdown or plain text first")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaybookError(
            f"{name} is not UTF-8 text (byte {exc.start}); export the playbook as markdown or plain text"
        ) from exc
    if not text.strip():
        raise PlaybookError(f"{name} is empty: there is nothing to extract steps from")
    if len(text.split()) < 20:
        raise PlaybookError(f"{name} has {len(text.split())} words; a playbook that short has no steps to extract")
    return Playbook(name, text, hashlib.sha256(data).hexdigest())
