"""Reading a question as a person meant it: places from gazetteers, typos, parts."""

from __future__ import annotations

import pytest

from assistant import jurisdiction as jur
from assistant import places
from assistant.question import HOWTO_Q, missing_answer_type, split_parts, without_type_words
from assistant.spelling import correct

pytestmark = pytest.mark.fast

CORPUS_WORDS = {"using", "privacy", "object", "objection", "form", "photos", "instagram", "delete", "data"}


def uses(word: str) -> bool:
    return word.lower() in CORPUS_WORDS


@pytest.mark.parametrize(
    "question, code",
    [
        ("I live in Ohio, can I object?", "US"),
        ("Can someone in Lyon object?", "EU"),
        ("What about Osaka?", "JP"),
        ("I'm in Toronto, what can I do?", "CA"),
        ("Does this apply in New South Wales?", "AU"),
        ("we are in Zurich", "CH"),  # accents optional
        ("Can I object from the US? I was born in Lyon.", "US"),  # the table's place comes first
        ("What does the Data Protection Officer say?", None),  # Officer is a town, but not here
        ("What did they announce in March 2024?", None),  # March is a town, and a month
        ("Can I opt out in Narnia?", None),
        # A state or city opening a sentence counts when it stands apart from the rest.
        ("Glasgow here. If I object, can Meta still use my posts?", "UK"),
        ("Soy porteña (Buenos Aires). Can I object?", "AR"),
        ("Reading my posts is fine for them?", None),  # Reading is a town, but here a verb
        ("Mumbai-based photographer here, can I object?", "IN"),  # a hyphen joins words
        # A demonym names its country (countryinfo), in the singular or plural.
        ("I'm a Ghanaian, what are my options?", "GH"),
        ("Do New Zealanders get the same right?", "NZ"),
        # A large city's other spelling, and a region's English name.
        ("We live a couple of km outside Ghent. Can we object?", "EU"),
        ("I'm in Antwerp, what can I do?", "EU"),
        ("Posting from Bavaria, can I object?", "EU"),
        # Other names that spell something else are no place (Topeka's "Google").
        ("Can Google use my posts?", None),
        # A state's postal abbreviation where an address has it; elsewhere "OK" is a word.
        ("I'm in TX. Is there any way to opt out?", "US"),
        ("Austin, TX here", "US"),
        ("BC here, can I object?", "CA"),
        ("OK so can I object?", None),
        # A state's or city's residents ("Quebecers", "Texans", "Londoners")
        ("Do Quebecers get to object?", "CA"),
        ("Are Texans covered?", "US"),
        ("Do Members get to object?", None),
    ],
)
def test_a_place_outside_the_table_is_placed_by_the_gazetteers(question, code):
    assert jur.for_question(question, uses) == code


@pytest.mark.parametrize(
    "question, code",
    [
        ("Here in Wellington - do New Zealanders get the same right to object that Europeans have?", "NZ"),
        ("Seattle-area user. Do they have to respect my objection like they do in Europe?", "US"),
        ("Do users in Seoul see the same Right to object box in the privacy policy that Europeans get?", "KR"),
        ("Is objecting easier in the UK than in the US?", "UK"),
        # "like" as a verb, or beside the asker, compares nothing
        ("I'd like to object in the UK, how?", "UK"),
        ("People like me in Germany, can we object?", "EU"),
    ],
)
def test_a_place_the_question_compares_with_is_not_where_it_is_asked_from(question, code):
    assert jur.for_question(question, uses) == code


@pytest.mark.parametrize(
    "question, code",
    [
        ("I'm a US citizen but I've lived in Munich for years. Can I object?", "EU"),
        ("British but living in Spain, can I object?", "EU"),
        ("I moved to the UK from Brazil last year, can I opt out?", "UK"),
        ("Can I object from the US? I was born in Lyon.", "US"),  # born in is no residence
        ("I live in Manchester, England. Can I object?", "UK"),  # an address's last place counts
    ],
)
def test_where_the_asker_lives_outranks_where_they_are_from(question, code):
    assert jur.for_question(question, uses) == code


def test_a_name_the_documents_use_for_something_else_is_not_a_place():
    # "Meta" is a department of Colombia; to documents about Meta, it is the company.
    assert jur.for_question("Can Meta use my photos?", known=lambda w: w == "Meta") is None
    assert jur.for_question("Can Meta use my photos?", known=None) == "CO"
    # a country is a country whatever the documents say
    assert jur.for_question("Can I object in Japan?", known=lambda w: True) == "JP"


def test_places_are_searched_for_as_the_documents_name_them():
    assert jur.rename_places("Can someone in Lyon object?", uses) == "Can someone in the EU object?"
    assert jur.strip_places("I live in Ohio", uses).strip() == "I live in"


def test_a_place_given_by_hand_is_parsed_too():
    assert jur.parse_code("ohio") == "US"
    assert jur.parse_code("Lyon") == "EU"
    assert jur.parse_code("JP") == "JP"
    assert jur.name("JP") == "Japan"
    with pytest.raises(ValueError, match="unknown jurisdiction"):
        jur.parse_code("Narnia")


def test_the_gazetteer_table_is_cached_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(tmp_path))
    places._table.cache_clear()
    try:
        assert places.lookup("Ohio") == "US"
        assert [p.name for p in tmp_path.iterdir()] == [places.cache_path().name]  # no temp file left
    finally:
        places._table.cache_clear()


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("is meta usin my photos", "is meta using my photos"),
        ("privcy form", "privacy form"),
        ("wat do i put in teh form", "wat do i put in the form"),
        ("objectng", "objecting"),  # a form of a word the documents use
        ("insta pics", "insta pics"),  # no word of the documents is one letter away
        ("Is Instagam using it", "Is Instagam using it"),  # a capitalised name is left as written
        ("fb dms 4 u", "fb dms 4 u"),  # too short to guess
    ],
)
def test_typos_are_corrected_toward_the_documents_words(typed, meant):
    assert correct(typed, lambda w: uses(w) or w in {"objecting"}) == meant


@pytest.mark.parametrize(
    "question, parts",
    [
        (
            "Who announced it, from when does it apply, and are my DMs included?",
            ["Who announced it", "from when does it apply", "are my DMs included?"],
        ),
        ("Is TikTok doing this? What about my DMs?", ["Is TikTok doing this?", "What about my DMs?"]),
        ("Who can object, and who can't?", ["Who can object, and who can't?"]),  # no words of its own
        ("Can users in the UK or the US object?", ["Can users in the UK or the US object?"]),
        ("I live in Lyon. Can I stop it?", ["I live in Lyon. Can I stop it?"]),
        # An opening that asks nothing is the context of what follows, not a part.
        ("As a Canadian, can I opt out?", ["As a Canadian, can I opt out?"]),
        ("In mid-2025, how quickly was content deleted?", ["In mid-2025, how quickly was content deleted?"]),
        (
            "As a Canadian, can I opt out, and are my DMs included?",
            ["As a Canadian, can I opt out", "are my DMs included?"],
        ),
        (
            "I'm in London — can I opt out, and will my friends be told?",
            ["I'm in London — can I opt out", "will my friends be told?"],
        ),
        # A piece after the question that asks nothing stays with it.
        (
            "does it use my reels? like the voiceovers and music",
            ["does it use my reels? like the voiceovers and music"],
        ),
        ("do they pay for posts?? asking 4 a friend", ["do they pay for posts?? asking 4 a friend"]),
        ("Can I opt out? Also my DMs?", ["Can I opt out?", "Also my DMs?"]),
        # An auxiliary that goes on with the question's verb opens no part.
        (
            "Which Meta model, Llama or something else, will actually be trained on these posts?",
            ["Which Meta model, Llama or something else, will actually be trained on these posts?"],
        ),
        ("Can I object, and will it be honoured?", ["Can I object", "will it be honoured?"]),
    ],
)
def test_a_question_is_split_into_its_parts(question, parts):
    assert split_parts(question) == parts


def test_a_cache_that_cannot_be_written_still_places_a_question(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(blocked / "cache"))
    places._table.cache_clear()
    try:
        assert places.lookup("Ohio") == "US"
    finally:
        places._table.cache_clear()


@pytest.mark.parametrize(
    "question, evidence, reason",
    [
        ("What percentage of users are in Europe?", "This becomes effective on June 26th, 2024.", "no figure"),
        ("How many users objected?", "On the 22nd May, 2024, Meta announced the plan.", "no figure"),
        ("How many users objected?", "Over 3 million users objected.", None),
        ("What percentage of users are in Europe?", "About 40 percent of them are.", None),
        ("When does it start?", "It starts on June 26th, 2024.", None),
    ],
)
def test_a_date_is_no_figure_for_a_how_many_question(question, evidence, reason):
    found = missing_answer_type(question, evidence)
    assert (found is None) if reason is None else (reason in found)


def test_the_words_naming_the_type_of_answer_are_not_the_topic():
    assert "date" not in without_type_words("What date does the policy take effect?")
    assert "percentage" not in without_type_words("What percentage of users are in Europe?")
    assert "policy" in without_type_words("What date does the policy take effect?")


@pytest.mark.parametrize(
    "question, howto",
    [
        ("How do I object?", True),
        ("Back in mid-2024, where in the settings did you go to opt out?", True),
        ("Where is the setting that stops it?", True),
        ("Where do I find the form?", True),
        ("Where is Meta based?", False),
        ("Why can Europeans object?", False),
    ],
)
def test_a_question_asking_where_to_go_asks_for_steps(question, howto):
    assert bool(HOWTO_Q.search(question)) is howto
