"""The one place text is escaped for a consumer: terminals, XML, GitHub workflow commands, Markdown.

Checks write plain text in which `backticks` mark code; every writer escapes with these functions
and nothing else, so a message cannot break out of a table cell, an annotation or an XML attribute.
"""

from __future__ import annotations

import re

# C0 controls, lone surrogates and U+FFFE/U+FFFF cannot appear in XML 1.0 at all, escaped or not;
# C0 and C1 controls (ESC above all) would drive a terminal. Tab, LF and CR are each writer's business.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible(text: str) -> str:
    """Show unprintable characters as `\\x1b` escapes instead of emitting them."""
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return _UNPRINTABLE.sub(escape, text)


def xml_text(text: str) -> str:
    """XML 1.0 cannot carry most control characters at all, escaped or not."""
    return visible(text)


def github_data(text: str) -> str:
    """Escape a command's message as @actions/core does (`escapeData`): % first, then CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """Escape a property value (`escapeProperty`): also `:` and `,`, which delimit properties."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


# A code span: a run of backticks, then anything up to a run of exactly as many (CommonMark).
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]~])")


def md_plain(text: str) -> str:
    """Escape text outside code spans for a table cell: HTML, emphasis, links, `|`, line breaks."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("|", "\\|")
    return "<br>".join(visible(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def md_code(text: str) -> str:
    """A code span that holds `text` whatever it contains (longer fence, `|` escaped for tables)."""
    text = visible(" ".join(text.splitlines()))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def md_cell(text: str) -> str:
    """Text as the checks write it: `backticks` mark code and stay code; the rest is escaped."""
    out = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(md_plain(text[position:match.start()]))
        code = " ".join(match.group(2).splitlines()).replace("|", "\\|")
        out.append(f"{match.group(1)}{visible(code)}{match.group(1)}")
        position = match.end()
    out.append(md_plain(text[position:]))
    return "".join(out)
