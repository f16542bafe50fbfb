"""Writes evals/questions.jsonl and evals/dev.jsonl (kept as code so the evidence fragments are shared)."""
import json
from pathlib import Path

CNET, TT = "cnet-2024-06-opt-out", "ttcsirt-2024-meta-public-posts"
# Evidence fragments: each names one sentence of the seed corpus that supports an answer.
US_NO = ["At the moment, no", "isn't an option for users outside of Europe", "don't currently offer a feature",
         "doesn't legally have to offer users any way to opt out", "those of you in the US will have your posts used"]
EU_FORM = ["opt-out form called Right to object", "select your country of residence", "only possible to opt out of this in Europe",
           "option for EU and UK users to object", "UK or EU citizens have the option to opt-out", "you will see this form to complete",
           "people in Europe can opt out"]
UK = ["option for EU and UK users to object", "UK or EU citizens have the option to opt-out",
      "EU and UK users benefit from strong data privacy", "you will see this form to complete"]
OTHERS = ["Other countries can submit a request", "no equivalent privacy laws in the US or other regions",
          "must first have proof", "visiting this Facebook page", "Learn more and submit requests here",
          "isn't an option for users outside of Europe", "best thing you can do on your end"]
USED = ["posts or photos and their captions", "information shared on Meta's products and services",
        "Instagram photos and captions, and your chats", "public Facebook and Instagram posts as well as your chats",
        "uses posts — including your photos — to train", "Your Facebook and Instagram posts are a big part",
        "use public information posted on their products", "Meta using your Instagram and Facebook posts to train"]
PRIVATE = ["won't use your private messages", "shared privately in direct messages", "only applies to publicly shared posts"]
CHATS = ["chats with the Facebook AI chatbot"]
FORM_FIELDS = ["select your country of residence"]
REVIEW = ["review objection requests", "allows room for Meta to reject their request", "obliged to honor all requests"]
FRIENDS = ["shared a post that mentions you", "Meta might still access posts related to you", "ask your relatives"]
DATES = ["effective on June 26th, 2024", "On the 22nd May, 2024, Meta announced"]
PROOF = ["must first have proof", "Other countries can submit a request"]
SETTINGS_PATH = ["About > Privacy Policy", "opt-out form called Right to object"]


def q(id, question, category, evidence=(), facts=(), sources=(), filters=None, answerable=True):
    d = {"id": id, "question": question, "category": category, "answerable": answerable}
    if answerable:
        d.update(evidence=list(evidence), facts=list(facts), sources=list(sources))
    else:
        d.update(evidence=[], facts=[], sources=[])
    if filters:
        d["filters"] = filters
    return d


def no(id, question):
    return q(id, question, "unanswerable", answerable=False)


MAIN = [
    # direct
    q("us-opt-out", "Can I opt out from the US?", "direct", US_NO, ["no"], [CNET]),
    q("eu-object", "How do I object in the EU?", "direct", EU_FORM, ["Right to object"], [CNET]),
    q("posts-used", "Does Meta use my Facebook and Instagram posts to train its AI?", "direct", USED + ["Yes."], [], [CNET]),
    q("private-msgs", "Are my private messages used for Meta's AI training?", "direct", PRIVATE, ["private"], [TT, CNET]),
    q("what-data", "What data will Meta use to train its AI?", "direct", USED + CHATS, ["captions"], [TT, CNET]),
    q("start-date", "When does Meta start using posts for AI training?", "direct", DATES, ["June 26th, 2024"], [TT]),
    q("others-request", "What can people outside the EU and UK do about Meta using their data?", "direct", OTHERS, [], [TT]),
    q("friends-caveat", "If I object, can Meta still use posts about me?", "direct", FRIENDS, ["mentions you"], [TT]),
    # paraphrases a person would type
    q("para-insta-pics", "meta ai using my insta pics??", "paraphrase", USED, [], [CNET, TT]),
    q("para-american", "is there a way to stop facebook training on my photos if i'm american", "paraphrase", US_NO, [], [CNET]),
    q("para-stop-photos", "how do i stop meta from using my pictures for ai", "paraphrase", EU_FORM + OTHERS, [], [CNET]),
    q("para-dms", "do they read my DMs to train the bot", "paraphrase", PRIVATE, [], [CNET, TT]),
    q("para-chatbot", "if i talk to the facebook ai chatbot does that get used for training", "paraphrase", CHATS, [], [TT]),
    q("para-no-choice", "so americans just have no choice here?", "paraphrase", US_NO, [], [CNET]),
    q("para-privacy-page", "where's the opt out thing hidden in the app", "paraphrase", SETTINGS_PATH + ["you will see this form to complete"], ["Privacy Policy"], [CNET]),
    q("para-reject", "can meta say no to my objection", "paraphrase", REVIEW, [], [TT, CNET]),
    q("para-private-posts", "my account is private, are my posts safe from this", "paraphrase", PRIVATE, [], [TT]),
    q("para-ig-captions", "are instagram captions part of the training data", "paraphrase", USED, ["captions"], [TT, CNET]),
    # jurisdictions
    q("jur-germany", "I live in Germany. Can I stop Meta from training on my posts?", "jurisdiction", EU_FORM, [], [CNET, TT]),
    q("jur-france", "I'm in France, is there an opt-out?", "jurisdiction", EU_FORM, [], [CNET, TT]),
    q("jur-uk", "Can UK users object to Meta using their data for AI?", "jurisdiction", UK, ["UK"], [TT]),
    q("jur-london", "I'm British, do I get the same right to object as people in the EU?", "jurisdiction", UK, [], [TT]),
    q("jur-canada", "I'm in Canada, what are my options?", "jurisdiction", OTHERS, [], [TT]),
    q("jur-india", "Can Indian users opt out of Meta AI training?", "jurisdiction", OTHERS, [], [TT]),
    q("jur-trinidad", "What can someone in Trinidad and Tobago do to stop Meta using their data?", "jurisdiction", OTHERS, [], [TT]),
    q("jur-australia", "Does the opt-out work in Australia?", "jurisdiction", OTHERS, [], [TT]),
    q("jur-brazil", "I'm from Brazil, can I object?", "jurisdiction", OTHERS, [], [TT]),
    q("jur-us-california", "I live in California. Can I opt out of Meta using my posts?", "jurisdiction", US_NO, [], [CNET]),
    q("jur-us-why", "Why can Europeans opt out but Americans can't?", "jurisdiction",
      ["doesn't legally have to offer users any way to opt out", "no equivalent privacy laws in the US", "benefit from strong data privacy",
       "Meta has been forced to provide an option", "obliged to honor all requests", "acknowledging that European users are able to opt out"],
      ["GDPR"], [CNET, TT]),
    q("jur-us-filtered", "Is there an opt-out form for me?", "jurisdiction", US_NO, [], [CNET],
      filters={"source": [CNET], "jurisdiction": "US"}),
    q("jur-spain-filtered", "How do I stop my posts being used?", "jurisdiction", EU_FORM, [], [CNET],
      filters={"jurisdiction": "EU"}),
    # procedure
    q("proc-form-fields", "What do I have to put in the objection form?", "procedure", FORM_FIELDS, ["email"], [CNET]),
    q("proc-where-form", "Where in the Instagram app do I find the Right to object form?", "procedure", SETTINGS_PATH, ["About > Privacy Policy"], [CNET]),
    q("proc-reason", "Do I need to give a reason when I object?", "procedure", FORM_FIELDS + ["citing simply"], ["reason"], [CNET]),
    q("proc-how-long", "How quickly did the objection get confirmed?", "procedure", ["Within minutes I received an email"], ["minutes"], [CNET]),
    q("proc-other-steps", "What are the steps for people outside Europe to make a request?", "procedure",
      ["visiting this Facebook page", "Learn more and submit requests here", "must first have proof", "users can follow these steps"],
      [], [TT]),
    q("proc-proof", "What proof do I need to submit a request if I'm not in Europe?", "procedure", PROOF, ["proof"], [TT]),
    q("proc-email", "Will I get an email after objecting?", "procedure", ["Within minutes I received an email"], ["email"], [CNET]),
    q("proc-country", "Does the form ask for my country?", "procedure", FORM_FIELDS, ["country of residence"], [CNET]),
    # dates
    q("date-announce", "When did Meta announce this?", "dates", ["On the 22nd May, 2024, Meta announced"], ["22nd May"], [TT]),
    q("date-effective", "What date does the new policy take effect?", "dates", ["effective on June 26th, 2024"], ["June 26th"], [TT]),
    q("date-june", "Is it true the change kicks in at the end of June 2024?", "dates", ["effective on June 26th, 2024"], [], [TT]),
    # what is and is not used
    q("use-public-posts", "Will my public posts be used?", "data-use", USED, [], [TT, CNET]),
    q("use-photos", "Are photos included?", "data-use", USED, ["photos"], [TT, CNET]),
    q("use-private-posts", "What about stuff I posted privately?", "data-use", PRIVATE, ["privately"], [TT]),
    q("use-direct-messages", "Are direct messages excluded?", "data-use", PRIVATE, ["direct messages"], [CNET]),
    q("use-ai-chats", "Does Meta use conversations with its AI chatbot?", "data-use", CHATS, ["chatbot"], [TT]),
    q("use-llms", "What kind of models will be trained on the data?", "data-use",
      ["train its large language models", "improve their AI models"], [], [TT]),
    q("use-scraped", "Could my public info have been scraped by AI tools already?", "data-use",
      ["already been scraped by generative AI tools"], ["scraped"], [TT]),
    # caveats
    q("cav-family", "My family posts pictures of me. Can Meta use those even if I opted out?", "caveats", FRIENDS, [], [TT]),
    q("cav-eliminate", "How can I make sure posts mentioning me aren't used?", "caveats", ["ask your relatives", "shared a post that mentions you"], ["relatives"], [TT]),
    q("cav-review", "Does Meta have to accept every objection?", "caveats", REVIEW, [], [CNET, TT]),
    q("cav-not-outright", "Is the EU objection a real opt-out?", "caveats", ["not an outright opt-out solution", "allows room for Meta to reject"], [], [TT]),
    q("cav-privacy-policy-hard", "Is the privacy policy easy to find?", "caveats", ["isn't especially easy to find"], [], [CNET]),
    q("cav-us-future", "Could Meta change its mind about US opt-outs?", "caveats", ["remains to be seen", "At the moment, no"], [], [CNET]),
    q("cav-gdpr-honor", "Under GDPR does Meta have to honor my request?", "caveats", ["obliged to honor all requests", "Meta has been forced to provide an option"], [], [CNET]),
    # both documents
    q("both-who-can-object", "Who can object to Meta training AI on their posts, and who can't?", "cross-document",
      EU_FORM + US_NO + UK + OTHERS, [], [CNET, TT]),
    q("both-private-excluded", "Do both articles agree that private messages are not used?", "cross-document", PRIVATE, [], [CNET, TT]),
    q("both-eu-vs-others", "What's the difference between EU users and everyone else?", "cross-document",
      EU_FORM + OTHERS + US_NO, [], [TT, CNET]),
    q("both-photos-chats", "Besides photos, what else of mine goes into Meta's AI training?", "cross-document", USED + CHATS, [], [TT, CNET]),
    q("both-us-and-uk", "Can users in the UK or the US object?", "cross-document", UK + US_NO, [], [TT, CNET]),
    q("both-objection-outcome", "What happens after I send the objection?", "cross-document",
      ["Within minutes I received an email", "review objection requests", "allows room for Meta to reject"], [], [CNET, TT]),
    # unanswerable: near the topic, not covered
    no("na-tiktok", "Does TikTok train on my videos?"),
    no("na-fine", "How much was Meta fined over this?"),
    no("na-count", "How many people have objected so far?"),
    no("na-gmail", "Does Google use my Gmail to train Gemini?"),
    no("na-linkedin", "Can I stop LinkedIn from using my posts for AI?"),
    no("na-pay", "Will Meta pay me for using my photos?"),
    no("na-llama", "Which version of Llama is trained on my posts?"),
    no("na-whatsapp", "Does WhatsApp use my chats to train AI?"),
    no("na-retention", "How long does Meta keep my data after I object?"),
    no("na-ceo", "Who is the CEO of Meta?"),
    no("na-delete-account", "How do I permanently delete my Facebook account?"),
    no("na-percent-eu", "What percentage of Instagram users are in Europe?"),
    no("na-threads", "Does Meta use my Threads posts for AI?"),
    no("na-kids", "Can Meta train its AI on children's accounts?"),
    no("na-age", "How old do you have to be to file an objection?"),
    no("na-apple", "Does Apple use my iCloud photos for Apple Intelligence?"),
    no("na-lawsuit", "Is there a class action lawsuit against Meta over AI training?"),
    no("na-weather", "What's the weather like in Paris today?"),
]

DEV = [
    q("dev-us", "Is opting out possible for people in the United States?", "direct", US_NO, [], [CNET]),
    q("dev-eu-how", "What's the process for Europeans to refuse AI training?", "procedure", EU_FORM, [], [CNET]),
    q("dev-dm", "Is Meta going to train on what I send in private chats?", "data-use", PRIVATE, [], [CNET, TT]),
    q("dev-used", "Which of my content feeds Meta's AI?", "data-use", USED + CHATS, [], [TT, CNET]),
    q("dev-uk", "Do people in Britain have a way to object?", "jurisdiction", UK, [], [TT]),
    q("dev-japan", "I live in Japan. Can I do anything?", "jurisdiction", OTHERS, [], [TT]),
    q("dev-italy", "Italian user here, how do I opt out?", "jurisdiction", EU_FORM, [], [CNET]),
    q("dev-texas", "Texas resident, can I refuse?", "jurisdiction", US_NO, [], [CNET]),
    q("dev-when", "What day did the policy become effective?", "dates", DATES, [], [TT]),
    q("dev-announce", "On what date was the announcement made?", "dates", DATES, [], [TT]),
    q("dev-form", "What information does the Right to object form ask for?", "procedure", FORM_FIELDS, [], [CNET]),
    q("dev-review", "Could my objection be turned down?", "caveats", REVIEW, [], [TT, CNET]),
    q("dev-relatives", "Can posts my relatives share about me still be used?", "caveats", FRIENDS, [], [TT]),
    q("dev-proof", "What evidence is needed for a deletion request outside Europe?", "procedure", PROOF, [], [TT]),
    q("dev-chatbot", "Are my AI chatbot chats included in training?", "data-use", CHATS, [], [TT]),
    q("dev-captions", "Will they use the text I write under my photos?", "data-use", USED, [], [CNET, TT]),
    q("dev-gdpr", "Why does GDPR matter here?", "cross-document",
      ["benefit from strong data privacy", "obliged to honor all requests", "doesn't legally have to offer", "no equivalent privacy laws",
       "Meta has been forced to provide an option", "acknowledging that European users are able to opt out"], [], [CNET, TT]),
    q("dev-settings", "Which settings menu has the objection link?", "procedure", SETTINGS_PATH, [], [CNET]),
    q("dev-lol", "wait so meta trains on my fb posts now?", "paraphrase", USED + ["Yes."], [], [CNET, TT]),
    q("dev-nz", "New Zealand - any opt out?", "jurisdiction", OTHERS, [], [TT]),
    q("dev-confirm", "Did the CNET writer's objection go through?", "procedure", ["Within minutes I received an email", "objection had been honored"], [], [CNET]),
    q("dev-scrape", "Is my public data safe from other AI companies?", "data-use",
      ["already been scraped by generative AI tools", "more and more AI companies are popping up"], [], [TT]),
    no("dev-na-capital", "What is the capital of France?"),
    no("dev-na-snap", "Does Snapchat use my snaps for AI?"),
    no("dev-na-revenue", "How much money does Meta make from AI?"),
    no("dev-na-openai", "Is OpenAI training ChatGPT on Facebook posts?"),
    no("dev-na-users", "How many Facebook users are there in the US?"),
    no("dev-na-ads", "Can I turn off personalised ads on Instagram?"),
    no("dev-na-voice", "Does Meta use my voice recordings from Ray-Ban glasses?"),
    no("dev-na-dpc", "What did the Irish regulator decide about Meta's plan?"),
    no("dev-na-password", "How do I reset my Instagram password?"),
    no("dev-na-copyright", "Can I sue Meta for copyright infringement if it trains on my art?"),
    no("dev-na-hack", "Was Meta hacked in 2024?"),
    no("dev-na-recipe", "Give me a recipe for lasagna"),
]

if __name__ == "__main__":
    here = Path(__file__).parent
    for name, rows in (("questions.jsonl", MAIN), ("dev.jsonl", DEV)):
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)), name
        (here / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        print(name, len(rows), "questions,", sum(not r["answerable"] for r in rows), "unanswerable")
