from __future__ import annotations

from assistant import jurisdiction as jur
from assistant.chat import Conversation


def test_follow_up_changes_place_but_keeps_topic(answerer):
    chat = Conversation(answerer)
    first = chat.ask("Can I opt out from the US?")
    assert first.jurisdiction == "US" and not first.abstained
    second = chat.ask("What about the UK?")
    assert second.jurisdiction == "UK" and not second.abstained
    assert any("UK" in c.quote for c in second.citations)


def test_jurisdiction_persists_through_the_conversation(answerer):
    chat = Conversation(answerer)
    chat.ask("I live in Germany. Can I object to Meta training on my posts?")
    follow = chat.ask("how do I do that?")
    assert follow.jurisdiction == "EU" and not follow.abstained
    # every cited sentence applies in the EU (the US "no" does not), and one says how to object there
    for c in follow.citations:
        places = jur.named_places(jur.detect(c.quote))
        assert not places or "EU" in places or "UK" in places, c.quote
    assert any("object" in c.quote.casefold() for c in follow.citations)
    assert chat.is_follow_up("and what does the form ask for?")


def test_a_follow_up_is_answered_with_what_has_not_been_quoted_yet(answerer):
    chat = Conversation(answerer)
    first = chat.ask("I live in Germany. Can I object to Meta training on my posts?")
    follow = chat.ask("how do I do that?")
    said = {(c.chunk_id, c.start) for c in first.citations}
    assert said and follow.citations
    assert not said & {(c.chunk_id, c.start) for c in follow.citations}
    assert chat.state()["seen"]  # what the web chat keeps between turns
    again = chat.ask("how do I do that?")
    assert again.citations  # nothing new left to say is not a reason to say nothing
    same = chat.ask("I live in Germany. Can I object to Meta training on my posts?")
    assert [c.quote for c in same.citations] == [c.quote for c in first.citations]  # asked again: the same answer
    short = Conversation(answerer)
    quotes = [[c.quote for c in short.ask("Can I opt out from the US?").citations] for _ in range(2)]
    assert quotes[0] == quotes[1]  # a short question reads as a follow-up; asked again, it is answered the same
    other = chat.ask("Are my private messages used for training Meta's AI models?")  # a new topic
    assert chat.seen == tuple(f"{c.chunk_id}@{c.start}" for c in other.citations)


def test_new_topic_is_not_a_follow_up(answerer):
    chat = Conversation(answerer)
    chat.ask("Can I opt out from the US?")
    assert not chat.is_follow_up("Are my private messages used for training Meta's AI models?")
    answer = chat.ask("Are my private messages used for training Meta's AI models?")
    assert chat.topic == "Are my private messages used for training Meta's AI models?"
    assert not answer.abstained and answer.jurisdiction == "US"  # the place of the conversation is kept
