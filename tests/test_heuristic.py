"""Table-driven cases for the heuristic judge: every criterion, good and bad, with negations."""

from __future__ import annotations

import pytest

from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge, reply_features, score_reply

# (reply, criterion, expected level)
CASES = [
    # warmth
    ("I'm so sorry, love. That sounds humiliating.", "warmth", 2),
    ("Sorry to hear that.", "warmth", 1),
    ("What time is dinner?", "warmth", 0),
    ("I'm not sorry I said it.", "warmth", 0),  # negated
    # validation
    ("No wonder you're furious.", "validation", 2),
    ("That makes total sense after what he did.", "validation", 2),
    ("It's completely okay to feel hurt by that.", "validation", 2),
    ("I get it.", "validation", 1),
    ("That doesn't make sense to me.", "validation", 0),  # negated
    ("Tell me about your day.", "validation", 0),
    # understanding
    ("It sounds like you felt invisible in that meeting.", "understanding", 2),
    ("You must have felt so alone.", "understanding", 2),
    ("So it's not the money, it's that he didn't ask you.", "understanding", 2),
    ("That must be a lot.", "understanding", 1),
    ("Let's order pizza.", "understanding", 0),
    # exploration
    ("What was the hardest part for you?", "exploration", 2),
    ("Tell me more about what happened.", "exploration", 2),
    ("Are you okay?", "exploration", 1),
    ("Have you tried talking to him?", "exploration", 0),  # advice dressed as a question
    ("I see.", "exploration", 0),
    # no unasked fixing (inverse: 2 = no advice)
    ("You should talk to HR tomorrow.", "no_fixing", 0),
    ("Have you tried going to bed earlier?", "no_fixing", 0),
    ("Why don't you just quit?", "no_fixing", 0),
    ("Maybe you could mention it to her next week.", "no_fixing", 1),
    ("I'm not going to tell you what you should do.", "no_fixing", 2),  # negated
    ("That sounds so hard.", "no_fixing", 2),
    # stays with them (inverse)
    ("That happened to me at my old job, I was livid.", "stays_with_them", 0),
    ("When I was your age I had it much worse.", "stays_with_them", 0),
    ("Me too. What happened next?", "stays_with_them", 1),
    ("How are you holding up?", "stays_with_them", 2),
    # no dismissing (inverse)
    ("At least you still have your job.", "no_dismissing", 0),
    ("Calm down, it's not a big deal.", "no_dismissing", 0),
    ("You're overreacting.", "no_dismissing", 0),
    ("Don't worry, it'll be fine.", "no_dismissing", 1),
    ("I'm not going to tell you to calm down.", "no_dismissing", 2),  # negated
    ("You don't need to calm down. Be as angry as you want.", "no_dismissing", 2),
    ("That was cruel of him.", "no_dismissing", 2),
    ("Stop overthinking it, nobody cares about one email.", "no_dismissing", 0),
    ("Brent's just like that, don't take it so seriously.", "no_dismissing", 0),
    ("I feel terrible too, you know, I had a really rough night as well.", "stays_with_them", 0),
    ("That's gutting, love.", "warmth", 2),
    ("That joke was cruel and I made it worse.", "validation", 2),
    ("You didn't deserve that.", "validation", 2),
    ("That doesn't sound daft at all.", "validation", 2),
    ("Of course it's okay.", "no_dismissing", 2),
    ("It must be really confusing and sad.", "understanding", 2),
    # asks what they need
    ("Do you want me to just listen, or would ideas help?", "asks_needs", 2),
    ("What do you need from me right now?", "asks_needs", 2),
    ("I'm here for you.", "asks_needs", 1),
    ("He is wrong.", "asks_needs", 0),
]


@pytest.mark.parametrize(("reply", "key", "level"), CASES)
def test_criterion_levels(reply: str, key: str, level: int) -> None:
    scores, _ = score_reply(reply)
    assert scores[key].level == level, (reply, key, scores[key])


@pytest.mark.parametrize(("reply", "key", "level"), CASES)
def test_evidence_is_always_an_exact_substring(reply: str, key: str, level: int) -> None:
    scores, _ = score_reply(reply)
    for s in scores.values():
        for quote in s.evidence:
            assert quote and quote in reply


def test_evidence_given_for_fired_rules_only() -> None:
    scores, _ = score_reply("At least it's Friday. What was the worst part?")
    assert scores["no_dismissing"].evidence == ["At least it's Friday."]
    assert scores["exploration"].evidence == ["What was the worst part?"]
    assert scores["validation"].evidence == []


@pytest.mark.parametrize(
    ("reply", "flag"),
    [
        ("You always do this. What's wrong with you?", "criticism"),
        ("Oh please, grow up.", "contempt"),
        ("It's not my fault you're upset.", "defensiveness"),
        ("I don't want to talk about this.", "stonewalling"),
        ("Fine, whatever.", "stonewalling"),
        # the cases a careful reader saw the old rules miss
        ("That is not fair. You are the one glued to your laptop every night", "defensiveness"),
        ("Haha, so I'm bad in bed now? Great.", "contempt"),
        ("Haha, so I'm bad in bed now? Great.", "defensiveness"),
        ("Honestly, you're overreacting.", "defensiveness"),
        ("What an idiot you are for sending that email", "contempt"),
        ("Oh no, your tiny tragedy? Do you want me to just listen to you whine?", "contempt"),
        # a cold trial's quiet harm (blind set heldout10, first run)
        ("Well, who's the one in the lab till ten every night? I'm home by six.", "defensiveness"),
        ("Go on then, what have I done?", "defensiveness"),
        ("Okay, but don't take it out on me.", "defensiveness"),
        ("Raf, I laughed because everyone laughed.", "defensiveness"),
        ("You do this thing where you decide what people think of you.", "criticism"),
        ("Bit pointless doing a check-in if the answer's always fine, isn't it?", "criticism"),
        ("You do know those things are written to sell subscriptions, right?", "contempt"),
        ("Fine. You obviously don't want me here. I'll go back to bed then.", "defensiveness"),
        ("But you're going to have to learn to take a joke if you want to hang out with my "
         "friends.", "criticism"),
        ("Where is this even coming from? I have never once said I'm embarrassed of you.",
         "defensiveness"),
        ("Told you that place was dodgy. I said ages ago you should've been looking.",
         "criticism"),
        ("Well, one of us has been writing a thesis since May, so...", "defensiveness"),
        ("Nothing at all? Cool. Very reassuring, thanks.", "contempt"),
        ("I'm so sorry you feel that way, I really am. But that's honestly a crazy thing to "
         "think, and kind of insulting to me after everything.", "defensiveness"),
        ("I never said dramatic, YOU said dramatic.", "defensiveness"),
    ],
)
def test_four_horsemen_are_flagged(reply: str, flag: str) -> None:
    _, flags = score_reply(reply)
    assert flag in flags


@pytest.mark.parametrize("reply", [
    "I'm so sorry. It sounds like you felt really alone. I'm here.",
    "Whatever you decide, I'm with you. Tea?",
    "Ok.",
    "That abuse of power by your boss is awful.",
    # offers that the old rules read as questions about oneself, or as a sulk
    "Alright. Can I sit with you?",
    "Fine-tired or actually fine? No pressure either way. I'll just sit here while you eat.",
    "You hoped because I told you to.",
    "Okay. I'll wait.",
    "I should have come to you instead of moaning to Claire.",
    "Brent's Brent, but I'm the one who laughed and then changed the subject. I left you "
    "sitting there on your own.",
    "That's what happens when someone you trust says a thing like they mean it. I did that "
    "to you.",
])
def test_kind_or_bare_replies_raise_no_flags(reply: str) -> None:
    _, flags = score_reply(reply)
    assert flags == []


def test_harm_caps_the_score_and_stock_phrases_do_not_lift_it() -> None:
    judge = HeuristicJudge()

    def overall(reply: str) -> float:
        r = judge.rate(JudgeContext(reply=reply))
        assert r.overall is not None
        return r.overall

    stock = " I hear you. That makes sense. I understand. How do you feel? I'm here for you."
    for bad in ("What an idiot you are for sending that email.", "You should talk to HR.",
                "Ok.", "That is not fair. You are the one glued to your laptop."):
        assert overall(bad + stock) <= overall(bad) + 10, bad
    assert overall("What an idiot you are. I hear you. That makes sense.") <= 20
    assert overall("Oh love, I'm so sorry. That sounds humiliating. What was it like?") >= 60


def test_rating_is_deterministic_and_weighted() -> None:
    judge = HeuristicJudge()
    reply = "You should go to HR. It sounds like you felt humiliated."
    a = judge.rate(JudgeContext(reply=reply))
    b = judge.rate(JudgeContext(reply=reply))
    assert a.model_dump(exclude={"source": {"latency_ms"}}) == b.model_dump(
        exclude={"source": {"latency_ms"}}
    )
    heavy = judge.rate(JudgeContext(reply=reply, weights={"no_fixing": 5}))
    assert heavy.overall is not None and a.overall is not None
    assert heavy.overall < a.overall  # weighting the failed criterion pulls the score down
    assert a.tip and a.better_reply


def test_reply_features_count_reflections_and_questions() -> None:
    f = reply_features("It sounds like you felt alone. What was that like? Are you ok?")
    assert (f.questions, f.open_questions, f.reflections, f.complex_reflections) == (2, 1, 1, 1)


def test_better_reply_is_the_users_own_reply_improved(library) -> None:
    """What hurt is dropped, what worked is kept first, what was missing is added in the
    partner's own words, nothing repeats, and it scores higher."""
    from coach.core.session import Line

    sc = library["lonely-in-the-same-room"]
    judge = HeuristicJudge()
    history = (Line("partner", "I just feel lonely. Even with you right here."),)
    ctx = JudgeContext(reply="Oh love. You should join a club.", history=history,
                       scenario=sc, turn=1)
    r = judge.rate(ctx)
    better = r.better_reply
    assert better.startswith("Oh love.")  # their own warm opening stays first
    assert "You should join a club." not in better  # the advice is gone
    assert "lonely" in better  # grounded in what they said
    again = judge.rate(JudgeContext(reply=better, history=history, scenario=sc, turn=1))
    assert again.overall is not None and r.overall is not None and again.overall > r.overall
    assert not again.flags and again.level("no_fixing") == 2

    # a reply that does everything gets no suggestion
    full = ("I'm so sorry, love. No wonder you feel lonely. It sounds like you felt invisible. "
            "What was the hardest part? Do you want me to just listen?")
    top = judge.rate(JudgeContext(reply=full))
    assert all(sc.level == 2 for sc in top.scores.values()), top.scores
    assert top.better_reply == ""


PARTNER = "He read my email out in front of everyone and they laughed."


def _rated(reply: str):  # type: ignore[no-untyped-def]
    from coach.core.session import Line

    return HeuristicJudge().rate(JudgeContext(reply=reply, history=(Line("partner", PARTNER),)))


@pytest.mark.parametrize(
    ("slip", "repair"),
    [
        ("Ugh, you're being so dramatic.", "Sorry, that was unkind of me. What happened?"),
        ("Well, you did send it at 2am.", "Sorry, that's not the point. That sounds awful."),
        ("Whatever.", "Sorry. I'm being a jerk. What did he say?"),
    ],
)
def test_a_slip_taken_back_in_the_same_reply_counts_but_still_landed(slip, repair) -> None:
    hurt, mended, clean = _rated(slip), _rated(f"{slip} {repair}"), _rated(repair)
    assert hurt.flags and mended.flags == hurt.flags  # the words before it still landed
    assert any(a.kind == "ownership" for a in mended.acts)
    assert hurt.overall < mended.overall < clean.overall
    assert any("took back what hurt" in n for n in mended.notes)


def test_a_repair_before_the_harm_is_no_repair() -> None:
    # "Sorry" first, then the jab: the jab is the last word, and the cap stays.
    first = _rated("Sorry, that was unkind of me. Ugh, you're being so dramatic.")
    assert first.flags and first.overall <= 20
    assert not any("took back what hurt" in n for n in first.notes)


def test_thats_not_fair_sides_with_them_about_someone_else() -> None:
    # a protest to a complaint about oneself, validation about what another person did
    about_him = _rated("That's not fair. He had no right to do that.")
    assert not about_him.flags and about_him.level("validation") == 2
    from coach.core.session import Line

    at_me = HeuristicJudge().rate(JudgeContext(
        reply="That's not fair.", history=(Line("partner", "You never listen to me."),)))
    assert "defensiveness" in at_me.flags


def test_the_better_reply_drops_a_take_back_with_the_slip() -> None:
    # without the jab, "Sorry, that was unkind of me." would take back nothing
    rated = _rated("Ugh, you're being so dramatic. Sorry, that was unkind of me. What happened?")
    assert rated.better_reply
    assert "dramatic" not in rated.better_reply and "unkind" not in rated.better_reply


def _rated_in(scenario_id: str, reply: str):  # type: ignore[no-untyped-def]
    from coach.adapters.scenario_files import load_library
    from coach.core.session import Line

    sc = load_library()[scenario_id]
    return HeuristicJudge().rate(
        JudgeContext(reply=reply, history=(Line("partner", sc.opening),), scenario=sc))


def test_owning_a_broken_promise_is_not_blame() -> None:
    # from a new user's trial: "I told you I wouldn't ..." recalls one's own promise, not a
    # warning they ignored; it scored 15 with a criticism flag
    r = _rated_in("actions-dont-match-words", "Okay, no sorry. I told you I wouldn't miss it "
                  "and then I did, for the third time. What was it like when you saw the text?")
    assert not r.flags and r.overall >= 55


def test_padded_blame_from_the_trial_is_flagged_and_dropped_from_the_rewrite() -> None:
    r = _rated_in("laid-off-and-joking", "I hear you. That makes sense. Still, you saw this "
                  "coming for months and did nothing.")
    assert "criticism" in r.flags and r.overall <= 10
    assert r.better_reply and "coming" not in r.better_reply


def test_was_it_really_that_bad_is_minimizing_and_not_kept() -> None:
    r = _rated_in("vent-humiliated-at-work", "Was the email actually that bad?")
    assert any(a.kind == "minimizing" for a in r.acts) and r.level("no_dismissing") == 0
    both = _rated_in("vent-humiliated-at-work", "Was the email actually that bad? You do "
                     "sometimes write when you're rushed.")
    assert both.flags and both.better_reply and "that bad" not in both.better_reply


def test_a_fix_taken_back_goes_with_the_fix() -> None:
    r = _rated_in("vent-humiliated-at-work", "Maybe next time get someone to check it first. "
                  "Sorry, that was unkind. What happened?")
    assert r.level("no_fixing") == 0  # the fix was advice, unasked
    assert r.better_reply
    assert "next time" not in r.better_reply.lower() and "unkind" not in r.better_reply


@pytest.mark.parametrize(
    "reply",
    ["Who does that? That's not okay.",
     "It could have been worse, I suppose. It was cruel, though.",
     # a defence that opens like a take-back: aimed at them, not at what was just said
     "You're overreacting. That's not fair, I've been to loads of your things."],
)
def test_a_verdict_on_what_happened_is_no_take_back(reply: str) -> None:
    # after a hurtful sentence, "That's not okay." about what was done to them stays theirs
    r = _rated(reply)
    assert not any(a.kind == "ownership" for a in r.acts)
    assert not any("took back what hurt" in n for n in r.notes)


def test_a_jab_taken_back_from_the_fresh_clone_trial_is_flagged() -> None:
    # "you did see this coming" went unflagged, scored 72 and was named the best reply
    r = _rated_in("laid-off-and-joking", "Honestly, you did see this coming. Sorry, that was "
                  "unkind. What's scaring you most?")
    assert "criticism" in r.flags and r.overall <= 60
    assert r.better_reply and "coming" not in r.better_reply


def _rated_after(partner: str, reply: str):  # type: ignore[no-untyped-def]
    from coach.core.session import Line

    return HeuristicJudge().rate(JudgeContext(reply=reply, history=(Line("partner", partner),)))


_WALK = "You know what I'd like? A walk. Up the lane after tea, like we used to."


def test_giving_them_what_they_asked_for_also_validates_the_need() -> None:
    yes = _rated_after(_WALK, "I'd love that. Tomorrow after tea, up the lane.")
    assert not yes.flags
    assert yes.level("asks_needs") == 2 and yes.level("validation") == 1
    # the same words with nothing asked are only an offer
    unasked = _rated_after("I'm tired.", "I'd love that. Tomorrow after tea, up the lane.")
    assert unasked.level("validation") == 0


@pytest.mark.parametrize("reply", [
    "Of course. Though for what it's worth, I still think you should mention it to HR.",
    "Yeah, fair. We could try going to bed earlier on weekends maybe?",
])
def test_a_bare_yes_before_a_turn_is_no_answer_to_what_they_asked(reply: str) -> None:
    partner = "Thank you for not telling me what to do. Can you just be on my side tonight?"
    from coach.judges.acts.tagger import DOES_WHAT_ASKED, tag_reply

    def answers(text: str) -> bool:
        return any(t.why == DOES_WHAT_ASKED for s in tag_reply(text, partner).sentences
                   for t in s.tags)

    assert not answers(reply)
    assert _rated_after(partner, reply).level("validation") == 0
    # and the yes alone still is one
    assert answers(reply.split(".")[0] + ".")


@pytest.mark.parametrize(("partner", "reply"), [
    ("I'm not trying to start a fight. It's just... you only touch me when you want something.",
     "I don't want a fight either. And I don't want to just forget it. You feel like I only "
     "reach for you when I want something. Will you tell me more? I'll just listen."),
    ("Sometimes at those dinners I feel like the contractor you brought along.",
     "I'm not embarrassed of you. But I get why tonight made you wonder, because I laughed and "
     "then moved on like it was nothing."),
])
def test_a_repair_that_starts_with_oneself_is_not_defensive(partner: str, reply: str) -> None:
    rated = _rated_after(partner, reply)
    assert rated.flags == [], rated.flags
    assert rated.level("no_dismissing") == 2
