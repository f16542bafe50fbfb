from __future__ import annotations

import pytest

from assistant import jurisdiction as jur


@pytest.mark.parametrize(
    "text, asker",
    [
        ("Can I opt out from the US?", "US"),
        ("I live in Germany", "EU"),
        ("I'm in Canada, what can I do?", "CA"),
        ("What can people outside the EU and UK do?", "OTHER"),
        ("I live outside of Europe", "OTHER"),
        ("What proof do I need if I'm not in Europe?", "OTHER"),
        ("I'm not from the UK or the EU", "OTHER"),
        ("Can non-EU users object?", "OTHER"),
        ("what about other countries?", "OTHER"),
        ("Can I opt out?", None),
    ],
)
def test_the_place_a_question_is_asked_from(text, asker):
    assert jur.for_question(text) == asker


def test_a_place_named_only_as_excluded_is_not_detected():
    assert jur.detect("isn't an option for users outside of Europe") == ["OTHER"]
    assert jur.detect("EU and UK users benefit from GDPR") == ["EU", "UK"]
