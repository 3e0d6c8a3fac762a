"""Text from outside the code (deck titles from a link or file, names from CDE's
directory and the initiative's records, a file name) shown on a page or in a
chart is shown as text, never interpreted.

Three places interpret text: HTML (a page's unsafe_allow_html block), Markdown
(Streamlit's st.markdown, captions, alerts: links, emphasis, headings, LaTeX),
and Plotly labels (which render <a href>, <b>, <br>, <i>, <span style>). Each
gets its own escape, and every view passes outside text through one of them."""

from __future__ import annotations

import html
import re

# What makes Markdown out of text in the middle of a line: links and images ([ ] !),
# emphasis and code (* _ `), HTML (< >), tables (|), strikethrough (~), and
# Streamlit's extras: $ (LaTeX) and : (:material/...: icons, :red[...] colour).
# Hyphens, full stops and brackets only matter at a line's start or after "]",
# so they are left alone: real school names keep reading as they are written.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~$:])")


def for_markdown(text: object) -> str:
    """For st.markdown, captions and alerts: no link, emphasis, heading, HTML, icon or
    formula can come from it; line breaks become spaces."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def from_markdown(text: object) -> str:
    """Caption Markdown back to plain text (for an image): emphasis marks dropped, escapes undone."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_`]", "", str(text or ""))).strip()


def for_plotly(text: object) -> str:
    """For a Plotly title, label or hover text: tags shown literally (Plotly decodes the
    entities back to the characters)."""
    return html.escape(str(text), quote=False)
