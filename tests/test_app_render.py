"""The chat message's HTML: superseded statements set apart, every [n] a link to its source."""

from __future__ import annotations

import pytest

from assistant.app_render import render_message
from assistant.types import Answer, Citation

pytestmark = pytest.mark.fast


def cite(n: int, quote: str, publisher: str, published: str) -> Citation:
    return Citation(n, f"d{n}", f"d{n}#0", quote, 0, len(quote), f"Doc {n}", publisher, published)


def test_statements_a_newer_one_supersedes_are_set_apart_and_still_linked():
    citations = (
        cite(1, "The deadline is now 30 September 2025.", "Agency", "2025-06-20"),
        cite(2, "The deadline is 30 June 2025.", "Motorline", "2025-04-09"),
    )
    text = (
        "Agency, 20 June 2025: The deadline is now 30 September 2025. [1] "
        "Earlier: Motorline, 9 April 2025: The deadline is 30 June 2025. [2] "
        "The documents don't say: “has it appealed?”"
    )
    answer = Answer("When is the deadline, and has it appealed?", text, citations, (), False, earlier=(2,))
    html = render_message(answer, 3)
    current, rest = html.split("\n\n> *Earlier, superseded by the above:* ")
    assert "30 September 2025" in current and "30 June 2025" not in current
    assert rest.startswith("Motorline, 9 April 2025: The deadline is 30 June 2025.")
    assert "has it appealed" not in rest.split("\n\n")[0]  # the unanswered part is not under Earlier
    assert html.count('<a class="cite"') == 2 and 'href="#src-3-2"' in rest


def test_an_answer_with_nothing_superseded_is_one_paragraph():
    citations = (cite(1, "Members can object.", "Lumora", "2024-09-02"),)
    answer = Answer("Can I object?", "Members can object. [1]", citations, (), False)
    html = render_message(answer, 1)
    assert "Earlier" not in html and "\n\n" not in html and 'href="#src-1-1"' in html
