"""The one escaping function for every text that reaches HTML, JS or a template.

folium and branca compile the text of popups, tooltips, layer names and even
GeoJSON property values as Jinja2 templates while a map renders, and insert it
into ``innerHTML`` and JavaScript template literals (``../shared/RELIABILITY.md``
S1, S2). :func:`safe_text` makes any text inert in all of those places at once:
it HTML-escapes the text, then replaces the characters that Jinja and
JavaScript give meaning to (``{ } $ ` \\``) with numeric entities. The browser
still shows the original characters. Characters an HTML document may not hold
(NUL, other control characters, lone surrogates, Unicode non-characters)
become U+FFFD, the replacement character.

Examples
--------
>>> safe_text("{{ 7*7 }} <b>")
'&#123;&#123; 7*7 &#125;&#125; &lt;b&gt;'
>>> safe_text(None)
''
"""

from __future__ import annotations

import html
import math
import re

__all__ = ["md_text", "safe_text"]

# Characters HTML does not allow in a document (NUL, other controls but tab, newline and carriage return, lone
# surrogates that cannot even be written as UTF-8, and the Unicode non-characters): shown as U+FFFD instead.
_UNFIT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
                    "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
                    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
                    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
                    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]")
_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;", "\\": "&#92;"})
# Markdown is escaped for Markdown, not for HTML: every ASCII punctuation character that could start markup (raw
# HTML, entities, emphasis, code, links, strike-through, table cells, maths, Jinja) gets a backslash, which
# CommonMark and GitHub read as "this character, literally" (CommonMark 0.31, section 2.4). So ``R&D`` stays
# ``R\&D`` in the file and shows as R&D, never as the entity ``R&amp;D``; line breaks become spaces so the text
# stays in its table cell.
_MD = str.maketrans({c: "\\" + c for c in "\\`*_[]<>&|~{}$\"'"} | {"\r": " ", "\n": " ", "\t": " "})


def safe_text(value: object) -> str:
    """Return ``value`` as text that is inert in HTML, JavaScript and Jinja.

    Parameters
    ----------
    value
        Anything; ``None`` and NaN become the empty string, other values
        their ``str()``.

    Returns
    -------
    str
        Escaped text, safe inside element content, quoted attributes, JS
        template literals and Jinja templates.

    Examples
    --------
    >>> safe_text("</script><script>alert(1)</script>")
    '&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> safe_text("${x} `y` {% if %}")
    '&#36;&#123;x&#125; &#96;y&#96; &#123;% if %&#125;'
    >>> safe_text(float("nan"))
    ''
    >>> safe_text(3.5)
    '3.5'
    >>> safe_text("a\\x00b\\ufffe") == "a\\ufffdb\\ufffd"    # NUL and non-characters are not allowed in HTML
    True
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return _UNFIT.sub("\ufffd", html.escape(str(value), quote=True).translate(_EXTRA))


def md_text(value: object) -> str:
    """Return ``value`` as inline Markdown text that shows literally: Markdown escapes, no HTML entities.

    Characters that start raw HTML, entities, emphasis, code, links, strike-through, maths or a table cell
    get a backslash (CommonMark's escape, shown as the character itself); characters a document may not
    hold become U+FFFD as in :func:`safe_text`; line breaks become spaces, so the text stays in its table cell.

    Examples
    --------
    >>> print(md_text("a|b *c* [x](javascript:y) <img src=x> R&D"))
    a\\|b \\*c\\* \\[x\\](javascript:y) \\<img src=x\\> R\\&D
    >>> md_text("line\\nbreak"), md_text(None)
    ('line break', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _UNFIT.sub("\ufffd", str(value)).translate(_MD)
