"""Dated, attributed answers: who said it and when, and what a newer statement supersedes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.attribution import compose, label, later
from assistant.dating import date_in_text, display
from assistant.evidence import Candidate
from assistant.types import Chunk, Document

pytestmark = pytest.mark.fast

TEXTS = {
    "v1": "Members cannot object to training. Training starts on 1 May 2024.",
    "v2": "Members can object to training with a form. Training starts on 1 May 2024.",
    "news": "A critic says the form is hard to find.",
}
DATES = {"v1": "2024-03-14", "v2": "2024-09-02", "news": "2024-09-10"}


def docs() -> dict[str, Document]:
    return {
        k: Document(k, f"Policy {k}", text, publisher="Lumora" if k != "news" else "TechLedger", published=DATES[k])
        for k, text in TEXTS.items()
    }


def cand(doc: str, sentence: str, vector: list[float], places: tuple[str, ...] = ()) -> tuple[Candidate, int]:
    text = TEXTS[doc]
    start = text.index(sentence)
    chunk = Chunk(f"{doc}#0", doc, text, 0, len(text), "", places)
    v = np.array(vector, dtype=np.float32)
    return Candidate(chunk, start, start + len(sentence), v / np.linalg.norm(v), 1.0, 1.0, 0), start + len(sentence)


def test_a_newer_statement_on_the_same_point_comes_first_and_the_older_is_marked_earlier():
    new = cand("v2", "Members can object to training with a form.", [1, 0.1, 0])
    old = cand("v1", "Members cannot object to training.", [1, 0, 0])
    other = cand("news", "A critic says the form is hard to find.", [0, 0, 1])
    composed = compose([old, new, other], docs())
    quotes = [c.quote for c in composed.citations]
    assert quotes == [
        TEXTS["v2"].split(". ")[0] + ".",
        "A critic says the form is hard to find.",
        "Members cannot object to training.",
    ]
    assert composed.earlier == (3,)
    assert composed.text.index("Earlier:") < composed.text.index("Lumora, 14 March 2024: Members cannot")
    assert composed.text.startswith("Lumora, 2 September 2024: Members can object")
    assert "TechLedger, 10 September 2024: A critic" in composed.text


def test_statements_about_different_places_do_not_supersede_each_other():
    new = cand("v2", "Members can object to training with a form.", [1, 0.1, 0], ("EU",))
    old = cand("v1", "Members cannot object to training.", [1, 0, 0], ("US",))
    assert compose([old, new], docs()).earlier == ()


def test_one_source_of_one_date_is_quoted_without_attribution():
    a = cand("v1", "Members cannot object to training.", [1, 0, 0])
    b = cand("v1", "Training starts on 1 May 2024.", [0, 1, 0])
    composed = compose([a, b], docs())
    assert composed.text == "Members cannot object to training. [1] Training starts on 1 May 2024. [2]"


def test_dates_compare_only_at_the_precision_both_have():
    assert later("2024-09-02", "2024-03-14")
    assert not later("2024-06-03", "2024")  # a day in 2024 is not after "2024"
    assert later("2025", "2024-12-31")


def test_a_document_s_own_date_is_read_from_its_opening():
    text = "# Notice to Lumora\n\nReference: CDP/2024/117\n\nIssued on 24 April 2024 by the Commission.\n\nOn 14 March 2024, Lumora published a policy."
    assert date_in_text(text) == "2024-04-24"
    assert date_in_text("A policy with no date in it at all.") == ""
    assert display("2024-06-03") == "3 June 2024" and display("2024") == "2024" and display("2024-06") == "June 2024"


def test_an_as_of_date_keeps_documents_not_later_at_the_precision_both_have():
    from assistant.dating import check_as_of, dated_by

    assert dated_by("2024-06-03", "2024-07-01") and not dated_by("2024-09-02", "2024-07-01")
    assert dated_by("2024", "2024-07-01")  # cannot be ruled out
    assert dated_by("", "2024-07-01")  # undated
    assert check_as_of(" 2024-07 ") == "2024-07"
    with pytest.raises(ValueError, match="not a date"):
        check_as_of("June")


def test_a_dated_update_dates_its_own_paragraph_and_a_dated_heading_its_section():
    from assistant.dating import lead_date, statement_date

    text = (
        "# Decision\n\nDecision date: 3 March 2025\n\nThe data must be deleted by 30 June 2025.\n\n"
        "**Update, 20 June 2025:** The deadline is extended. It is now 30 September 2025.\n\nReports follow."
    )
    at = text.index
    assert statement_date(text, at("The data must"), "Decision", "2025-03-03") == "2025-03-03"
    assert statement_date(text, at("**Update"), "Decision", "2025-03-03") == "2025-06-20"
    assert statement_date(text, at("It is now"), "Decision", "2025-03-03") == "2025-06-20"  # same paragraph
    assert statement_date(text, at("Reports follow"), "Decision", "2025-03-03") == "2025-03-03"
    assert statement_date(text, at("Reports follow"), "Update, April 2025", "2025-03-03") == "2025-04"
    assert lead_date("Editor's note (June 20, 2025)") == "2025-06-20"
    bracketed = "Intro.\n\n[Update: June 20, 2025] The deadline moved.\n\n(Updated 3 July 2025) It moved again."
    assert statement_date(bracketed, bracketed.index("The deadline"), "", "2025-03-03") == "2025-06-20"
    assert statement_date(bracketed, bracketed.index("(Updated"), "", "2025-03-03") == "2025-07-03"
    assert statement_date(bracketed, bracketed.index("Intro"), "", "2025-03-03") == "2025-03-03"
    # A sentence that merely names a date is not a dated lead-in.
    assert lead_date("The agency said on 3 May 2024 that") == "" and lead_date("Case CDPA-2024-117") == ""


UPDATED = "Members can object by form.\n\nUpdate, 6 March 2025: The form is closed; members write to support instead."


def updated_docs() -> dict[str, Document]:
    return docs() | {"upd": Document("upd", "Help", UPDATED, publisher="Lumora", published="2024-09-02")}


def update_cand(sentence: str, vector: list[float], score: float = 1.0) -> Candidate:
    start = UPDATED.index(sentence)
    chunk = Chunk("upd#0", "upd", UPDATED, 0, len(UPDATED), "")
    v = np.array(vector, dtype=np.float32)
    return Candidate(chunk, start, start + len(sentence), v / np.linalg.norm(v), score, score, 0)


def test_a_quote_from_a_dated_update_is_labelled_with_its_date_and_left_out_as_of_before_it():
    from assistant.attribution import stated_by

    old = update_cand("Members can object by form.", [1, 0, 0])
    new = update_cand("Update, 6 March 2025: The form is closed; members write to support instead.", [1, 0.3, 0])
    composed = compose([(new, new.end), (old, old.end)], updated_docs())
    assert composed.text.startswith("Lumora, 6 March 2025: Update, 6 March 2025: The form is closed")
    assert composed.citations[0].published == "2025-03-06" and composed.earlier == (2,)
    assert [c.key for c in stated_by([new, old], "2024-12", updated_docs())] == [old.key]


def test_a_later_statement_on_the_same_point_is_found_but_not_a_repetition_or_another_subject():
    from assistant.attribution import newer_statement

    best = update_cand("Members can object by form.", [1, 0, 0], 1.0)
    new = update_cand("Update, 6 March 2025: The form is closed; members write to support instead.", [1, 0.8, 0], 0.6)
    found = newer_statement(best, [best, new], updated_docs(), ratio=0.4)
    assert found is not None and found.key == new.key
    assert newer_statement(best, [best, new], updated_docs(), ratio=0.7) is None  # scores too low
    repeat = update_cand("Update, 6 March 2025: The form is closed; members write to support instead.", [1, 0.1, 0])
    assert newer_statement(best, [best, repeat], updated_docs(), ratio=0.4) is None  # says the same thing
    elsewhere = update_cand("Update, 6 March 2025: The form is closed; members write to support instead.", [0, 1, 0])
    assert newer_statement(best, [best, elsewhere], updated_docs(), ratio=0.4) is None  # another subject
    # An older statement never supersedes the newer best one.
    assert newer_statement(new, [new, best], updated_docs(), ratio=0.0) is None


def test_a_page_dated_only_by_its_fetch_says_so():
    fetched = Document(id="h", title="Help", text="t", publisher="Help centre", published="2025-06-01", dated="fetched")
    assert label(fetched, "2025-06-01") == "Help centre, fetched 1 June 2025"
    assert label(replace(fetched, dated="page"), "2025-06-01") == "Help centre, 1 June 2025"
    assert label(replace(fetched, published=""), "") == "Help centre, undated"


def test_an_answer_from_an_older_policy_says_that_a_later_version_exists():
    policies = {k: replace(d, kind="policy") if k != "news" else d for k, d in docs().items()}
    old = cand("v1", "Members cannot object to training.", [1, 0, 0])
    composed = compose([old], policies)
    assert composed.text.endswith("Lumora has a later policy: “Policy v2” (2 September 2024).")
    assert [c.quote for c in composed.citations] == ["Members cannot object to training."]  # nothing else is cited
    # not when the later version is quoted, not beyond an as-of date, not for news
    assert "later" not in compose([old, cand("v2", "Training starts on 1 May 2024.", [0, 1, 0])], policies).text
    assert "later" not in compose([old], policies, as_of="2024-06").text
    assert "later" not in compose([old], docs()).text
    critic = {
        **policies,
        "news2": Document("news2", "Later story", "x", publisher="TechLedger", published="2025-01-01"),
    }
    assert "later" not in compose([cand("news", "A critic says the form is hard to find.", [0, 0, 1])], critic).text


def _policies() -> dict[str, Document]:
    return {k: replace(d, kind="policy") if k != "news" else d for k, d in docs().items()}


def _overlap(said: str, text: str) -> float:
    """A stand-in for the IDF-weighted term share: the share of `said`'s words `text` uses."""
    words = set(said.lower().strip(".").split())
    return len(words & set(text.lower().strip(".").split())) / len(words)


def test_a_later_version_of_a_policy_is_a_newer_version_but_not_news_or_another_publisher():
    from assistant.attribution import newer_version

    d = _policies()
    assert newer_version(d["v2"], d["v1"]) and not newer_version(d["v1"], d["v2"])
    assert not newer_version(d["news"], d["v1"])  # another publisher and kind
    assert not newer_version(docs()["v2"], docs()["v1"])  # news stories are not versions of each other
    assert not newer_version(replace(d["v2"], publisher="Other"), d["v1"])


def test_the_current_version_s_sentence_on_the_point_keeps_its_rare_words():
    from assistant.attribution import current_version

    best, _ = cand("v1", "Training starts on 1 May 2024.", [1, 0, 0])
    same_point, _ = cand("v2", "Training starts on 1 May 2024.", [0.7, 0.7, 0])  # the paraphrase: cosine 0.71
    topical, _ = cand("v2", "Members can object to training with a form.", [0.9, 0.44, 0])  # cosine 0.9
    unrelated, _ = cand("v2", "Members can object to training with a form.", [0, 0, 1])
    pool = [best, topical, same_point]
    found = current_version(best, pool, _policies(), _overlap)
    assert found is not None and found.key == same_point.key and found.vector is same_point.vector
    assert current_version(best, [best, unrelated], _policies(), _overlap) is None  # nothing on the point
    assert current_version(best, pool, docs(), _overlap) is None  # news: no versions
    assert current_version(same_point, [same_point, best], _policies(), _overlap) is None  # an older one is no version


def test_a_later_version_supersedes_its_statement_even_when_the_places_it_names_differ():
    policies = _policies()
    old = cand("v1", "Members cannot object to training.", [1, 0, 0], ("OTHER",))
    new = cand("v2", "Members can object to training with a form.", [1, 0.2, 0], ("EU", "OTHER"))
    assert compose([old, new], policies).earlier == (2,)
    assert compose([old, new], docs()).earlier == ()  # news of two dates about other places: both stand


def test_the_latest_version_is_found_among_the_documents_searched():
    from assistant.attribution import latest_version

    d = {
        **_policies(),
        "v3": Document("v3", "Policy v3", "x", publisher="Lumora", published="2025-06-10", kind="policy"),
    }
    assert latest_version(d["v1"], ["v2", "v3", "news"], d) == ("v3",)
    assert latest_version(d["v1"], ["v2", "news"], d) == ("v2",)  # an as-of date left v3 out
    assert latest_version(d["v3"], ["v1", "v2"], d) == ()  # nothing later
    assert latest_version(d["news"], ["v2", "v3"], d) == ()  # a news story has no versions


def test_the_term_share_weighs_rare_words():
    from assistant.lexical import term_share

    idf = {"finland": 3.0, "train": 0.5, "centr": 2.0, "data": 1.0}.get
    share = term_share(
        lambda t: idf(t) or 1.0, "Training runs in data centres in Finland.", "Muse is trained in Finland."
    )
    assert 0 < share < 1 and share > term_share(lambda t: idf(t) or 1.0, "Training in Finland.", "Training elsewhere.")
    assert term_share(lambda t: 1.0, "", "anything") == 0.0


def test_a_statement_speaks_of_the_places_its_sentence_names_not_all_its_chunk_mentions():
    texts = {
        "old": "Drivers in the United Kingdom can opt in from 1 May.",
        "new": "Halvard has pushed back the launch in the United Kingdom to 1 July. Canada and the US are unchanged.",
    }
    documents = {
        "old": Document("old", "Story", texts["old"], publisher="Motorline", published="2025-04-09"),
        "new": Document("new", "Update", texts["new"], publisher="Motorline", published="2025-04-22"),
    }

    def quote(doc: str, sentence: str, places: tuple[str, ...], vector: list[float]) -> tuple[Candidate, int]:
        start = texts[doc].index(sentence)
        chunk = Chunk(f"{doc}#0", doc, texts[doc], 0, len(texts[doc]), "", places)
        v = np.array(vector, dtype=np.float32)
        return Candidate(chunk, start, start + len(sentence), v / np.linalg.norm(v), 1.0, 1.0, 0), start + len(sentence)

    old = quote("old", texts["old"], ("UK",), [1, 0, 0])
    new = quote(
        "new", "Halvard has pushed back the launch in the United Kingdom to 1 July.", ("UK", "CA", "US"), [1, 0.5, 0]
    )
    composed = compose([old, new], documents)
    assert composed.earlier == (2,) and composed.citations[0].quote.startswith("Halvard has pushed back")
    # a later sentence of the same chunk about other places supersedes nothing
    silent = quote("new", "Canada and the US are unchanged.", ("CA", "US"), [1, 0.5, 0])
    assert compose([old, silent], documents).earlier == ()
