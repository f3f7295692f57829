"""The live coach: detectors, gate and degradation with scripted conversations (no models), then end to end
on the real embedder and LLM, and inside a recorded call."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest

from edge.call_store import CallStore
from edge.coach.coach import CoachSettings, FiredNudge, LiveCoach
from edge.coach.detectors import CallView, Candidate, DetectorSettings, SemanticDetector
from edge.coach.gate import Gate, GateSettings, Verdict
from edge.coach.semantic import SemanticScore, SemanticStage
from edge.coach.taxonomy import NUDGE_WAIT_S, MomentType
from edge.frames import Role, Utterance
from models.store import ModelStore
from scripts.eval_live import speech_since

REPO = Path(__file__).resolve().parents[2]


class Script:
    """Builds a conversation: each line starts where the last ended (plus a gap), at 2.5 words a second."""

    def __init__(self) -> None:
        self.utterances: list[Utterance] = []
        self._t = 0.0

    def say(
        self, speaker: str, text: str, confidence: float = 0.9, gap_s: float = 0.4, overlap_s: float = 0.0
    ) -> Utterance:
        role = {"rep": Role.REP, "cust": Role.CUSTOMER, "spouse": Role.OTHER, "grandson": Role.OTHER}[speaker]
        start = self._t + gap_s
        end = start + max(0.6, len(text.split()) / 2.5)
        uid = f"u{len(self.utterances):03d}"
        u = Utterance(uid, "call", speaker, role, start, end, text, 1.0, confidence, overlap_s=overlap_s)
        self.utterances.append(u)
        self._t = end
        return u


class ScriptedConfirmations:
    """The LLM's side: a fixed answer (or none ever, as a model too slow to answer)."""

    def __init__(self, label: str | None) -> None:
        self.label = label
        self.asked: list[str] = []

    def submit(self, candidate_type: MomentType, exchange: str) -> Future[Verdict]:
        self.asked.append(exchange)
        future: Future[Verdict] = Future()
        if self.label is not None:
            future.set_result(Verdict(candidate_type.value if self.label == "yes" else self.label, 0.1))
        return future

    def close(self, timeout_s: float = 10.0) -> None:
        pass


def replay(script: Script, coach: LiveCoach, tail_s: float = 40.0) -> list[FiredNudge]:
    fired, t, pending = [], 0.0, sorted(script.utterances, key=lambda u: u.end_s)
    end = max(u.end_s for u in script.utterances) + tail_s
    while t <= end:
        while pending and pending[0].end_s <= t:
            fired += coach.observe(pending.pop(0))
        fired += coach.tick(t, speech_since_s=speech_since(script.utterances, t))
        t = round(t + 0.2, 3)
    coach.close()
    return fired


def coach(confirmations: ScriptedConfirmations | None = None, trade: str = "hvac", **gate: object) -> LiveCoach:
    settings = CoachSettings(gate=GateSettings(**gate)) if gate else CoachSettings()  # type: ignore[arg-type]
    return LiveCoach("call", trade, SemanticStage(None), confirmations, settings)


def pitch(words: int) -> str:
    return " ".join(["our crews lay floor protection and haul everything away when they finish"] * (words // 12 + 1))


def types(fired: list[FiredNudge]) -> list[str]:
    return [f.nudge.moment.type for f in fired]


def test_a_long_rep_run_without_a_question_is_a_monologue_once() -> None:
    s = Script()
    s.say("cust", "The upstairs is always hot in the summer, it's miserable.")
    for _ in range(3):
        s.say("rep", pitch(60))
        s.say("cust", "Mm-hm.")  # backchannels do not give the floor back
    s.say("rep", pitch(60))
    fired = replay(s, coach())
    assert types(fired) == ["rep_monologue"]
    assert len(fired[0].nudge.moment.utterance_ids) >= 3  # cites the run of rep utterances


def test_a_bare_yes_after_the_rep_stops_answers_a_question_the_recogniser_lost() -> None:
    """ "That sound right?" heard as "That's how I", then an unsure "Yeah." (dev solar-06 kitchen): the rep asked
    and was answered. Talked over as the rep goes on, or a mere "mm-hm", it gives no floor."""

    def run(reply: str, overlap_s: float) -> list[str]:
        s = Script()
        s.say("rep", pitch(80) + " That's how I")
        s.say("cust", reply, confidence=0.33, gap_s=0.1)
        s.say("rep", pitch(80), gap_s=0.1, overlap_s=overlap_s)
        return types(replay(s, coach()))

    assert run("Yeah.", 0.0) == []
    assert run("Yeah.", 0.4) == ["rep_monologue"]
    assert run("Mm-hm.", 0.0) == ["rep_monologue"]


def test_a_requested_explanation_or_a_question_is_no_monologue() -> None:
    asked = Script()
    asked.say("cust", "Can you walk me through how the whole install works?")
    for _ in range(4):
        asked.say("rep", pitch(50))
    assert types(replay(asked, coach())) == []
    questioning = Script()
    for _ in range(4):
        questioning.say("rep", pitch(50) + " Does that make sense so far?")
    assert types(replay(questioning, coach())) == []
    # How long a job takes wants a number, not the whole story (dev solar-12); "Oh, good." is a listener's.
    timing = Script()
    timing.say("cust", "How long does this whole thing take, in general? Like, from start to finish.")
    for _ in range(2):
        timing.say("rep", pitch(50))
    timing.say("cust", "Oh, good.")  # 120 rep words before it, 60 after: a monologue only if it gives no floor
    timing.say("rep", pitch(50))
    assert types(replay(timing, coach())) == ["rep_monologue"]


def test_an_unacknowledged_price_objection_is_nudged_after_the_deadline() -> None:
    s = Script()
    s.say("rep", "So the whole system comes to $14,200 installed.")
    objection = s.say("cust", "Whoa. That's way more than we were expecting to spend.")
    s.say("rep", "And the unit comes with a Wi-Fi thermostat, so you can cool it from your phone.")
    s.say("rep", "Plus it's a lot quieter than what you have now.")
    fired = replay(s, coach())
    nudge = next(f for f in fired if f.nudge.moment.type == "price_objection_unaddressed")
    assert nudge.nudge.moment.utterance_ids[0] == objection.id
    assert nudge.nudge.moment.at_s >= objection.end_s + CoachSettings().detectors.objection_response_s


def test_an_objection_needs_money_to_have_come_up() -> None:
    """ "That's crazy" before anyone has named a price or talked of paying objects to something else."""

    def objection_weighed(opening: str) -> bool:
        s = Script()
        s.say("rep", opening)
        s.say("cust", "Honestly, that's crazy.")
        s.say("rep", "And the unit comes with a Wi-Fi thermostat, so you can cool it from your phone.")
        s.say("rep", "Plus it's a lot quieter than what you have now.")
        c = coach()
        replay(s, c)
        return any(d.candidate.type == MomentType.PRICE_OBJECTION_UNADDRESSED for d in c.gate.log)

    assert not objection_weighed("The last owner ran the ductwork straight through the garage ceiling.")
    assert objection_weighed("The last owner paid to run the ductwork straight through the garage ceiling.")


def test_a_nudge_waits_for_the_rep_to_pause_but_never_past_its_two_second_budget() -> None:
    s = Script()
    s.say("rep", "So the whole system comes to $14,200 installed.")
    s.say("cust", "Whoa. That's way more than we were expecting to spend.")
    s.say("rep", pitch(40))  # the rep talks on, past the objection's deadline
    s.say("rep", pitch(40), gap_s=0.1)
    c, t, sent, pending = coach(), 0.0, [], sorted(s.utterances, key=lambda u: u.end_s)
    while t <= s.utterances[-1].end_s + 40:
        speaking = any(u.role == Role.REP and u.start_s <= t < u.end_s for u in s.utterances)
        while pending and pending[0].end_s <= t:
            sent += c.observe(pending.pop(0), speaking)
        sent += c.tick(t, speaking)
        t = round(t + 0.2, 3)
    nudge = next(f for f in sent if f.nudge.moment.type == "price_objection_unaddressed")
    waited = nudge.sent_s - nudge.nudge.moment.at_s
    assert 0 < waited <= NUDGE_WAIT_S + 0.2  # held while the rep talked, then sent mid-sentence


def test_an_acknowledged_objection_is_left_alone() -> None:
    s = Script()
    s.say("rep", "So the whole system comes to $14,200 installed.")
    s.say("cust", "Whoa. That's way more than we were expecting to spend.")
    s.say("rep", "I hear you, it's real money. Let me show you what that looks like per month.")
    assert "price_objection_unaddressed" not in types(replay(s, coach()))
    later = Script()  # the acknowledgement opens the first sentence's second clause
    later.say("rep", "So the whole system comes to $14,200 installed.")
    later.say("cust", "Whoa. That's way more than we were expecting to spend.")
    later.say("rep", "It adds up, I get it. Spread out, it's about a hundred and twenty a month.")
    assert "price_objection_unaddressed" not in types(replay(later, coach()))


def questions_weighed(script: Script, c: LiveCoach) -> list[str]:
    replay(script, c)
    return [d.candidate.utterance_ids[0] for d in c.gate.log if d.candidate.type == MomentType.QUESTION_UNANSWERED]


def test_a_question_the_rep_talks_past_is_nudged_and_an_answer_of_the_asked_kind_is_not() -> None:
    past = Script()
    question = past.say("cust", "Okay. And, um, do you guys do gutters too? Ours are pretty beat up.")
    past.say("rep", "So let's talk about what we'd actually put on. I'd go with an architectural shingle.")
    assert questions_weighed(past, coach()) == [question.id]
    assert types(replay(past, coach())) == ["question_unanswered"]
    assert types(replay(past, coach(thresholds={"question_unanswered": 0.75}))) == []
    # Asking leave first, in the same sentence (dev roofing-11).
    leave = Script()
    skylights = leave.say("cust", "Can I ask, do you folks do skylights too? The one over the kitchen has a crack.")
    leave.say("rep", "So for materials, I'd show you two. A standard architectural shingle, or a Class 4.")
    assert questions_weighed(leave, coach()) == [skylights.id]
    # A question opening on "or", as room audio cuts "are squirrels a you-guys thing, or do I call somebody
    # else?" (dev pest-08 kitchen).
    alternative = Script()
    alternative.say("cust", "And while you're here, are squirrels you guys think")
    asked = alternative.say("cust", "Or do I call somebody else? There's one runs along the gutter.", gap_s=0.1)
    alternative.say("rep", "So the plan. First visit we set up the traps in the attic.")
    assert questions_weighed(alternative, coach()) == [asked.id]
    for asked, reply in (
        ("So what does the whole thing run?", "The better system is $24,800 before incentives."),
        ("So what's it all come to?", "Okay. The single-stage is eight thousand nine hundred."),
        ("And what does all that run?", "The first visit, with all the sealing, is two twenty-five."),
        ("How long does an install usually take, start to finish?", "Install's a day or two, six weeks with permits."),
        ("Is it rotted? I put my hand right there.", "It's firm. I'll note it, and we replace any bad sheet."),
        ("Is the filter thing not normal?", "For a house this size, that's half what you need."),
        ("Hey, you want a cookie? I just made them.", "Ha! Sure, thanks. So, Thursday at eight works for the tech."),
        ("Do I have to be here for it, or can my dad let him in?", "Either one's fine, as long as he can open up."),
        ("Do you have to pull a permit for this?", "Hang on, let me check the furnace and the coil first."),
        # Room audio loses the "No," of "No, that already accounts for it": a reply that does not move on is
        # given the benefit of the doubt.
        ("Does the tree cut into that much?", "That already accounts for it, the shade model has the tree in."),
        # Held-out batch -13/-14: an answer promised after a look, and a payment asked by its rate.
        ("Oh, Lord. How bad is it? Is the floor going to go?", "Let me check the joists first, then I can tell you."),
        ("And the 9,650. What's that on the 0%?", "So about 536 a month, and then it's paid off."),
    ):
        answered = Script()
        answered.say("cust", asked)
        answered.say("rep", reply)
        assert questions_weighed(answered, coach(trade="none")) == [], asked
    # Whisper punctuates each piece of a turn on its own and often ends one with a full stop: the word order
    # still asks ("Do this keep running." for "Do these keep running?", dev solar-05 kitchen).
    unmarked = Script()
    unmarked.say("cust", "If the power goes out, though.")
    piece = unmarked.say("cust", "Do these keep running.", gap_s=0.1)
    unmarked.say("rep", "And the panels themselves are the all-black ones, so no silver frames.")
    assert questions_weighed(unmarked, coach()) == [piece.id]
    for statement in (
        "It does the job, and it's quiet.",
        "We were thinking about it, is all.",
        "So are they going to look at the same things, or do they have their...",  # cut off: never finished
        "Well, isn't that something.",  # a negative with no question mark exclaims (held-out batch hvac-14)
    ):
        flat = Script()
        flat.say("cust", statement)
        flat.say("rep", "And the panels themselves are the all-black ones, so no silver frames.")
        assert questions_weighed(flat, coach()) == [], statement
    # A "when" that sets a condition asks no time, and a common verb is no shared topic (dev solar-09, roofing-09).
    for asked, reply in (
        ("When the power goes out, do these still work?", "So the design is thirty panels, twenty thousand a year."),
        ("When you take the roof off, what happens to my garden?", "Okay, let me go up and take a look. Half hour."),
    ):
        past_it = Script()
        question = past_it.say("cust", asked)
        past_it.say("rep", reply)
        assert questions_weighed(past_it, coach(trade="none")) == [question.id], asked
    bare_yes = Script()
    bare_yes.say("cust", "Do we sign something today?")
    bare_yes.say("rep", "Yeah.")
    bare_yes.say("rep", "So, right here on the tablet. Which way did you want to pay?")
    assert questions_weighed(bare_yes, coach()) == []
    for statement in (
        "It started in, um, April? And now it's every morning.",
        "They won't rip you off, right?",
        "Say, you're not a Huskers fan, are you?",
        "Okay, can I ask something dumb?",
        "Well, you remember the hail in June, the night of the fish fry?",
        "I figure, if I'm gonna be here anyway, why keep handing Xcel all that money?",
        "Can I get you some water?",  # hospitality (held-out batch solar-13)
        "Would you like some coffee? I just made a pot.",
    ):
        rising = Script()
        rising.say("cust", statement)
        rising.say("rep", "Let's go take a look at the basement.")
        assert questions_weighed(rising, coach()) == [], statement


def test_a_rep_who_twice_talks_over_the_customer_is_interrupting() -> None:
    """Utterances with words never overlap in audio (one stream, cut at the change of speaker), so talking
    over someone is heard as the overlap the segmentation model measured at the rep's start; a quick reply
    that waits for the customer to finish is not a cut-off, whatever Whisper's punctuation."""
    cut = Script()
    for _ in range(2):
        cut.say("cust", "We were thinking that maybe we could")
        cut.say("rep", "Right, and the thing about our crews is they're all employees.", gap_s=0.0, overlap_s=0.5)
    assert types(replay(cut, coach())) == ["rep_interrupting"]
    quick = Script()
    for _ in range(2):
        quick.say("cust", "We were thinking that maybe we could")
        quick.say("rep", "Right, and the thing about our crews is they're all employees.", gap_s=0.0)
    assert types(replay(quick, coach())) == []


def test_cross_talk_without_words_is_not_read() -> None:
    """The pipeline's cross-talk (who talked under whom, no words) is for the speaker timeline: "mm-hmm"s
    of the rep under every customer turn are no interruptions, and change nothing the coach sees."""
    s = Script()
    for _ in range(3):
        turn = s.say("cust", "We were thinking that maybe we could do the upstairs first and then")
        mm_hmm = replace(turn, id=f"{turn.id}x", speaker_id="rep", role=Role.REP, text="", asr_confidence=0.0)
        s.utterances.append(replace(mm_hmm, start_s=turn.start_s + 1.0, end_s=turn.start_s + 1.4))
        s.say("rep", "Sure.")
    c = coach()
    assert types(replay(s, c)) == []
    assert all(not u.is_cross_talk for u in c._view.utterances)


def test_utterances_of_uncertain_speaker_trigger_nothing() -> None:
    s = Script()
    s.say("rep", "So the whole system comes to $14,200 installed.", confidence=0.3)
    s.say("cust", "Whoa. That's way more than we were expecting to spend.", confidence=0.3)
    s.say("rep", "And the thermostat is Wi-Fi.", confidence=0.3)
    assert types(replay(s, coach())) == []


def test_an_unsure_piece_in_a_known_customer_voice_is_read_for_cue_phrases_only() -> None:
    """Room audio hears the customer's own words at 0.52 ("so I can't sign anything without him", dev hvac-10
    kitchen): a cue phrase in a voice already heard surely as the customer's is read, at its confidence; the
    same phrase in a voice never heard surely (as every voice is with no rep enrolled) is not."""

    def deferral(first_confidence: float, line: str) -> list[str]:
        s = Script()
        s.say("cust", "The house is still in my name and my ex-husband's.", confidence=first_confidence)
        s.say("rep", "Okay.", gap_s=0.3)
        s.say("cust", line, confidence=0.52, gap_s=0.3)
        s.say("rep", "Let me show you the warranty.", gap_s=0.3)
        return types(replay(s, coach(ScriptedConfirmations("yes"))))

    assert deferral(0.9, "So I can't sign anything without him.") == ["decision_maker_objection"]
    assert deferral(0.6, "So I can't sign anything without him.") == []


def test_a_deferral_to_someone_in_the_room_who_answers_is_no_decision_maker_objection() -> None:
    present = Script()
    present.say("spouse", "We've been wanting to redo this for years.")
    present.say("cust", "I'd have to run it by my husband first.")
    # Held while the answer goes on (the VAD hears someone talking), though it takes longer than the 2.5 s hold.
    answer = "I'm right here, honey, and I think we do the bigger one, with the winters we get."
    present.say("spouse", answer, gap_s=0.3)
    assert types(replay(present, coach(ScriptedConfirmations("yes")))) == []
    confirmed = Script()  # someone in the room speaks, but to defer to the same absent person
    confirmed.say("grandson", "Grandma, this one's got the remote.")
    deferral = confirmed.say("cust", "I'd like to, but I'd have to run it by my daughter first.")
    confirmed.say("grandson", "Yeah, she's the one who decides, she handles all the money.", gap_s=0.3)
    [fired] = replay(confirmed, coach(ScriptedConfirmations("yes")))
    assert fired.decision.candidate.utterance_ids == (deferral.id,)  # the customer's deferral, as it stood
    # Someone in the room speaking of the absent one, not for themselves: "Jake will say yes" (dev solar-10).
    spoken_of = Script()
    spoken_of.say("grandson", "He's been after solar for years.")
    spoken_of.say("cust", "I'd have to run it by my husband first, he's offshore till the twenty-second.")
    spoken_of.say("grandson", "Jake will say yes. He talks about it every dinner.", gap_s=0.3)
    assert types(replay(spoken_of, coach(ScriptedConfirmations("yes")))) == ["decision_maker_objection"]
    absent = Script()
    absent.say("cust", "I'd have to run it by my husband first, he's at work until six.")
    absent.say("rep", "Of course.")
    assert types(replay(absent, coach(ScriptedConfirmations("yes")))) == ["decision_maker_objection"]


def test_a_held_deferral_whose_turn_goes_on_is_asked_about_again_whole() -> None:
    # Room audio cuts a turn into pieces. "It's your house, Ma." alone reads as a deferral; with its next piece
    # it is a son approving (dev hvac-05 kitchen). The LLM is asked about the whole turn before anything fires.
    s = Script()
    s.say("cust", "So, what do you think, is it the right one?")
    first = s.say("spouse", "Well, she'd have to see it before we sign.")
    rest = s.say("spouse", "And she told me, if it's the right one, go ahead.", gap_s=0.1)
    s.say("rep", "Great, I've got a crew open Thursday.")
    confirmations = ScriptedConfirmations("none")
    c = coach(confirmations, thresholds={"decision_maker_objection": 0.7})  # 0.9 < 0.7 + 0.25: the LLM is asked
    assert types(replay(s, c)) == []
    [asked_first, asked_whole] = confirmations.asked
    assert "see it before" in asked_first and "see it before" in asked_whole and "go ahead" in asked_whole
    [weighed] = [d.candidate for d in c.gate.log if d.candidate.type == MomentType.DECISION_MAKER_OBJECTION]
    assert weighed.utterance_ids == (first.id, rest.id)


def test_a_held_deferral_is_confirmed_while_held_and_sent_when_the_hold_ends() -> None:
    script = Script()
    script.say("spouse", "We've been wanting to redo this for years.")
    # Heard at 0.7 speaker confidence: not so sure that it would skip the LLM.
    deferral = script.say("cust", "I'd have to run it by my husband first, he's at work until six.", 0.7)
    confirmations = ScriptedConfirmations("yes")
    c = coach(confirmations)
    for u in script.utterances:
        assert c.observe(u) == []
    assert len(confirmations.asked) == 1  # asked at once, not after the hold
    held_until = deferral.end_s + c.settings.detectors.settle_s
    assert c.tick(held_until - 0.1) == []
    [fired] = c.tick(held_until)
    assert fired.nudge.moment.type == "decision_maker_objection"
    assert fired.decision.candidate.at_s == held_until and fired.decision.verdict is not None

    answered = Script()
    answered.say("spouse", "We've been wanting to redo this for years.")
    answered.say("cust", "I'd have to run it by my husband first.", 0.7)
    answered.say("spouse", "I'm right here, honey.", gap_s=0.3)
    silent = ScriptedConfirmations(None)  # a verdict that never comes: the early question is withdrawn
    c = coach(silent)
    futures: list[Future[Verdict]] = []
    submit = silent.submit
    silent.submit = lambda t, e: futures.append(submit(t, e)) or futures[-1]  # type: ignore[method-assign]
    assert types(replay(answered, c)) == []
    assert len(futures) == 1 and futures[0].cancelled()


def test_a_backchannel_does_not_end_the_hold_on_a_deferral() -> None:
    """The rep's "Right." while the spouse says "I'm right here" (dev roofing-01 kitchen) is no reply that
    would send the deferral; the spouse speaking for themselves cancels it."""
    s = Script()
    s.say("spouse", "We've been wanting to redo this for years.")
    s.say("cust", "I'd have to run it by my husband first.")
    s.say("rep", "Right.", gap_s=0.2)
    s.say("spouse", "I'm right here, honey. I think we do the bigger one.", gap_s=0.2)
    assert types(replay(s, coach(ScriptedConfirmations("yes")))) == []


def test_a_turn_is_proposed_again_when_a_later_piece_brings_a_cue() -> None:
    """Room audio hands a turn over in pieces: the first may read like a deferral only to the exemplars, and
    the cue come two pieces later; the LLM is then asked about the whole turn once more."""
    s = Script()
    first = s.say("cust", "The house is mine and my sister's.")
    later = s.say("cust", "And she would have to sign off on anything like this.", gap_s=0.2)
    view, detector = CallView(DetectorSettings()), SemanticDetector()
    proposed = []
    for u, cue in ((first, False), (later, False), (later, True)):
        view.utterances = [x for x in s.utterances if x.start_s <= u.start_s]
        score = SemanticScore(MomentType.DECISION_MAKER_OBJECTION, 0.6 if cue else 0.45, "", cue)
        proposed += detector.observe(u, view, {MomentType.DECISION_MAKER_OBJECTION: score})
    assert [(c.utterance_ids, c.cue) for c in proposed] == [((first.id,), False), ((first.id, later.id), True)]


def test_one_unsure_piece_does_not_make_a_turn_a_guess() -> None:
    """A buying signal's confidence is its turn's speaker confidence by time spoken, not its least sure piece
    (dev roofing-11 kitchen: "So, if the adjuster signs off." at 0.40, then the question at 0.96)."""
    s = Script()
    s.say("cust", "So, if the adjuster signs off.", confidence=0.4)
    s.say("cust", "How soon can you get a crew out here for the whole thing?", confidence=0.96, gap_s=0.2)
    assert types(replay(s, coach())) == ["buying_signal"]


def test_the_llm_can_veto_and_its_silence_raises_the_bar() -> None:
    line = "Another company came out last week and quoted us a lot less."
    vetoed = Script()
    vetoed.say("cust", line)
    confirmations = ScriptedConfirmations("none")
    c = coach(confirmations, thresholds={"competitor_mentioned": 0.7})  # 0.9 < 0.7 + 0.25: the LLM is asked
    assert types(replay(vetoed, c)) == []
    assert confirmations.asked and "LLM says none" in c.gate.log[0].why
    # Sure enough without it (0.9 >= 0.6 + 0.25): sent at once, not ~2 s later after a verdict that could
    # only have vetoed it.
    sure = Script()
    sure.say("cust", line)
    confirmations = ScriptedConfirmations("none")
    assert types(replay(sure, coach(confirmations))) == ["competitor_mentioned"] and not confirmations.asked
    # A model that never answers: after the timeout the gate decides alone, at the stricter threshold, which
    # this cue-only candidate (confidence 0.9) clears at 0.6 + 0.25 but not at 0.7 + 0.25; a yes would pass.
    gate = GateSettings(thresholds={"competitor_mentioned": 0.7})
    for answer, expected in ((None, []), ("yes", ["competitor_mentioned"])):
        silent = Script()
        silent.say("cust", line)
        settings = CoachSettings(gate=gate, confirm_timeout_s=0.0)
        c = LiveCoach("call", "hvac", SemanticStage(None), ScriptedConfirmations(answer), settings)
        assert types(replay(silent, c)) == expected
    assert c.gate.log[0].verdict is not None


def test_a_cue_phrase_needs_only_the_llm_not_to_be_sure_it_is_none() -> None:
    """A deferral a cue phrase proposed ("she's gotta sign off on it") fires unless the LLM is fairly sure it is
    none; one only the exemplars proposed needs the LLM's clear yes."""

    def fired(cue: bool, probability: float) -> bool:
        c = Candidate(MomentType.DECISION_MAKER_OBJECTION, ("u1",), 0.5, 10.0, "", 'Customer: "..."\n', cue=cue)
        return Gate().decide(c, Verdict("none" if probability < 0.5 else c.type.value, 0.4, probability)).fired

    assert fired(cue=True, probability=0.4) and not fired(cue=False, probability=0.4)
    assert not fired(cue=True, probability=0.3)
    assert fired(cue=False, probability=0.7) and not fired(cue=False, probability=0.6)
    # A competitor mention only the exemplars proposed needs the LLM surer still.
    talk = Candidate(MomentType.COMPETITOR_MENTIONED, ("u1",), 0.5, 10.0, "", 'Customer: "..."\n')
    assert not Gate().decide(talk, Verdict(talk.type.value, 0.4, 0.75)).fired
    assert Gate().decide(talk, Verdict(talk.type.value, 0.4, 0.85)).fired
    assert Gate().decide(replace(talk, cue=True), Verdict(talk.type.value, 0.4, 0.75)).fired


def test_cooldown_and_budget_hold_nudges_back() -> None:
    s = Script()
    for _ in range(3):
        s.say("cust", "Another company came out last week and quoted us a lot less.")
        s.say("rep", "Okay.")
    c = coach(ScriptedConfirmations("yes"))
    assert types(replay(s, c)) == ["competitor_mentioned"]
    assert any("cooldown" in d.why for d in c.gate.log)
    c = coach(ScriptedConfirmations("yes"), budget_per_call=0)
    assert types(replay(s, c)) == [] and "budget" in c.gate.log[0].why


def test_price_before_a_required_step_is_flagged_once() -> None:
    skipped = Script()
    skipped.say("rep", "Let me take a look at the furnace in the basement and measure the house for a Manual J.")
    skipped.say("rep", "You've got three options. Financing is available at zero percent for 18 months.")
    skipped.say("rep", "So the investment for the better option is $13,900.")
    fired = replay(skipped, coach())
    assert types(fired) == ["step_skipped_before_price"]
    assert "warranty" in fired[0].decision.candidate.reason
    covered = Script()
    covered.say("rep", "Let me take a look at the furnace in the basement and measure the house for a Manual J.")
    covered.say("rep", "Ten years parts and labor warranty, and financing at zero percent for 18 months.")
    covered.say("rep", "So the investment for the better option is $13,900.")
    assert types(replay(covered, coach())) == []
    # Room audio cuts the price turn into pieces; the financing said in its last piece still counts.
    pieces = Script()
    pieces.say("rep", "Let me take a look at the furnace in the basement and measure the house for a Manual J.")
    pieces.say("rep", "Ten years parts and labor warranty on every option.")
    pieces.say("rep", "So the investment for the better option is $13,900.")
    pieces.say("rep", "On the loan that's about $159 a month.", gap_s=0.3)
    pieces.say("cust", "Okay.")
    assert types(replay(pieces, coach())) == []
    # A step covered in an utterance whose speaker is a guess may be the rep's: no nudge says they skipped it.
    unsure = Script()
    unsure.say("rep", "Let me take a look at the furnace in the basement and measure the house for a Manual J.")
    unsure.say("rep", "Ten years parts and labor warranty on every option.")
    unsure.say("rep", "Twelve months same as cash, or a low monthly payment.", confidence=0.5)
    unsure.say("rep", "So the investment for the better option is $13,900.")
    unsure.say("cust", "Okay.")
    assert types(replay(unsure, coach())) == []


def test_a_visit_wound_down_without_a_next_step() -> None:
    s = Script()
    s.say("rep", "So the investment for the better option is $13,900.")
    s.say("cust", "We'll have to think about it.")
    s.say("rep", "No problem. Here's my card, just give us a call whenever you're ready.")
    s.say("cust", "Thanks.")
    assert types(replay(s, coach(trade="none"))) == ["no_next_step"]
    booked = Script()
    booked.say("rep", "So the investment for the better option is $13,900.")
    booked.say("rep", "I'll come back Thursday at four to go over it with both of you.")
    booked.say("rep", "Here's my card in case anything comes up.")
    assert types(replay(booked, coach(trade="none"))) == []
    offered = Script()  # an offer the customer did not take up is no next step (Whisper drops its "?")
    offered.say("rep", "So the investment for the better option is $13,900.")
    offered.say("rep", "I could have a crew out Thursday.")
    offered.say("cust", "We need to think about it.")
    offered.say("rep", "You've got my number. Just give me a call whenever you two figure it out.")
    assert types(replay(offered, coach(trade="none"))) == ["no_next_step"]
    # The recogniser lost the price ("$21,400" heard as "in 2014"); the customer saying it back shows the offer
    # was made, so the goodbye still ends the visit. Before any offer, a card is no wind-down.
    for opening, expected in (("21,000. That's more than we can do right now.", ["no_next_step"]), ("Okay.", [])):
        echoed = Script()
        echoed.say("rep", "So all in, tear-off and the whole works, you had done it in 2014.")
        echoed.say("cust", opening)
        echoed.say("rep", "No problem. Here's my card, just give us a call whenever you're ready.")
        assert types(replay(echoed, coach(trade="none"))) == expected, opening


def test_prices_said_in_words_and_a_long_goodbye_still_end_the_visit_without_a_next_step() -> None:
    s = Script()
    s.say("rep", "Let me take a look at the furnace in the basement and measure the house for a Manual J.")
    s.say("rep", "Ten years on parts and ten on labor, and zero percent financing for eighteen months.")
    s.say("rep", "So the one I'd recommend comes to nine thousand eight hundred fifty, installed.")
    s.say("cust", "We'll have to sit with it a while.")
    s.say("rep", "Okay, well, I'll leave the proposal here, and my card's on top, so just give me a call.")
    s.say("cust", "We will, honey. Take some tomatoes, and drive safe, it's a hundred and six out there.")
    assert types(replay(s, coach())) == ["no_next_step"]  # and no skipped step: warranty and financing came first
    usage = Script()
    usage.say("rep", "You used about eleven thousand kilowatt-hours last year. If you owe, say, four thousand in tax,")
    usage.say("rep", "the credit wipes out the four thousand. Here's my card, call me whenever.")
    assert types(replay(usage, coach())) == []  # no price was stated: amounts of energy and examples are not one


def test_a_turn_cut_into_pieces_is_read_whole() -> None:
    """The pipeline cuts turns at their pauses: the deferral, the price and the goodbye are often only in the
    whole turn, and a question Whisper hears in a run-on pitch gives nobody the floor."""
    deferral = Script()
    deferral.say("cust", "Yeah, look, I gotta run it", gap_s=0.2)
    deferral.say("cust", "by my wife first.", gap_s=0.2)
    fired = replay(deferral, coach())
    assert types(fired) == ["decision_maker_objection"]
    assert fired[0].nudge.moment.utterance_ids == ("u000", "u001")  # cites every piece
    assert fired[0].decision.candidate.exchange == 'Customer: "Yeah, look, I gotta run it by my wife first."\n'
    long_turn = Script()  # the LLM is shown the turn's last words only: each token costs time before the verdict
    long_turn.say("cust", pitch(80), gap_s=0.2)
    long_turn.say("cust", "and honestly, I gotta talk to Angela about it first.", gap_s=0.2)
    exchange = replay(long_turn, coach())[0].decision.candidate.exchange or ""
    assert exchange.startswith('Customer: "... ') and exchange.endswith('talk to Angela about it first."\n')
    assert len(exchange.split()) <= CoachSettings().detectors.exchange_words + 2

    priced = Script()  # Whisper's "dollar 425" is a price; the rep's pieces make one turn
    priced.say("rep", "So for all of that,", gap_s=0.1)
    priced.say("rep", "it's dollar 425 to start.", gap_s=0.1)
    priced.say("cust", "We'll have to think about it.")
    priced.say("rep", "No problem. Here's my card,", gap_s=0.3)
    priced.say("rep", "just give us a call whenever you're ready.", gap_s=0.1)
    assert types(replay(priced, coach(trade="pest_control"))) == ["step_skipped_before_price", "no_next_step"]

    garbled = Script()
    garbled.say("cust", "We've had ants since May.")
    garbled.say("rep", pitch(80))
    garbled.say("rep", "Where we treated?", gap_s=0.1)  # "The way we treat it," carried straight on
    garbled.say("rep", pitch(80), gap_s=0.1)
    garbled.say("rep", "just making more than you're using.", confidence=0.5, gap_s=0.1)  # unsure: no turn
    garbled.say("rep", pitch(20), gap_s=0.1)
    assert "rep_monologue" in types(replay(garbled, coach()))
    paused = Script()
    paused.say("rep", pitch(80))
    paused.say("rep", "Does that make sense?", gap_s=0.1)
    paused.say("rep", pitch(80), gap_s=1.5)  # room left to answer: the question gave the floor
    assert "rep_monologue" not in types(replay(paused, coach()))


def test_cut_offs_are_judged_by_the_turn_that_cuts_in_and_the_turn_cut_off() -> None:
    s = Script()
    s.say("cust", "If we're paying for the electricity anyway, we might as well")
    s.say("rep", "Take it off the roof.", confidence=0.5, gap_s=-0.3, overlap_s=0.34)  # unsure piece cuts in
    s.say("rep", "That's the number one reason I hear.", gap_s=0.1)
    s.say("cust", "And the guy said they could wipe out the whole bill, and I kind of wanted to see if you")
    s.say("rep", "Yeah, they do a lot of volume up here.", gap_s=-0.5, overlap_s=0.8)
    assert types(replay(s, coach())) == ["rep_interrupting"]
    murmur = Script()
    murmur.say("cust", "Yeah, but nobody's selling this house, I'm just trying to figure out")
    murmur.say("rep", "And this product is one of the longest lasting on the market.", gap_s=-0.4, overlap_s=0.5)
    murmur.say("cust", "on this", gap_s=0.1)  # Whisper's word for a "Mm": no turn to cut off
    murmur.say("rep", "Good for years.", gap_s=-0.2, overlap_s=0.35)
    assert types(replay(murmur, coach())) == []
    sympathy = Script()  # the rep's "Oh no." under the customer's story is listening, not cutting in
    sympathy.say("cust", "Well, first it was the noises, scratching up in the ceiling at night")
    sympathy.say("rep", "Oh no.", gap_s=-0.5, overlap_s=0.5)
    sympathy.say("cust", "So how do you get rid of them, because I don't want them dying in the walls and")
    sympathy.say("rep", "No, and that's exactly why we do it this way.", gap_s=-0.5, overlap_s=0.5)
    assert types(replay(sympathy, coach())) == []


def test_a_limit_of_cover_is_no_price_and_a_goodbye_for_someone_else_still_winds_down() -> None:
    s = Script()
    s.say("rep", "If there's any new damage, we repair it, up to $100,000.")
    s.say("rep", "You can text the quote to Ruth and just give the office a call whenever she's ready.")
    assert types(replay(s, coach(trade="none"))) == []  # no price yet: nothing wound down after an offer
    s.say("rep", "The initial treatment is $1,850.")
    s.say("rep", "You can text the quote to Ruth and just give the office a call whenever she's ready.")
    assert types(replay(s, coach(trade="none"))) == ["no_next_step"]
    billed = Script()  # the customer's past bill is no price; Whisper's "is 8,900" (no dollar sign) is one
    billed.say("rep", "So you paid about $1,300 for power last year.")
    billed.say("rep", "Here's my card, call me whenever.")
    assert types(replay(billed, coach(trade="none"))) == []
    billed.say("rep", "The single stage is 8,900.")
    billed.say("rep", "Here's my card, call me whenever.")
    assert types(replay(billed, coach(trade="none"))) == ["no_next_step"]


def test_a_nameplate_btu_is_no_load_calculation() -> None:
    s = Script()
    s.say("rep", "Okay, 80,000 BTU Goodman furnace in the basement, that's in decent shape.")
    s.say("rep", "Ten years on parts and a year on labor warranty, and financing at zero percent.")
    s.say("rep", "So the Goodman with a new coil is $7,200.")
    fired = replay(s, coach())
    assert types(fired) == ["step_skipped_before_price"] and "load_calculation" in fired[0].decision.candidate.reason


# -- real models ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coach_models(store: ModelStore) -> object:
    from edge.coach.models import CoachModels

    models = CoachModels(store)
    models.load()
    assert models.llm_unavailable is None, models.llm_unavailable
    return models


def test_a_dev_conversation_through_the_real_embedder_and_llm(coach_models: object) -> None:
    """hvac-01 (dev split): a competitor, a monologue and a buying signal, and near misses (an objection
    the rep addresses, a deferral to the spouse in the room, a booked install) that must stay quiet."""
    from edge.coach.confirmer import InlineConfirmations
    from edge.coach.models import CoachModels
    from scripts.eval_live import replay_text
    from scripts.live_eval.conversations import load
    from scripts.live_eval.scoring import Score

    models = coach_models
    assert isinstance(models, CoachModels) and models.confirmer is not None
    conversation = load(REPO / "tests" / "corpus" / "calls" / "hvac-01.json")
    c = LiveCoach("hvac-01", "hvac", models.semantic, InlineConfirmations(models.confirmer))
    result = replay_text(conversation, c)
    score = Score()
    score.add(conversation.id, conversation.moments, result.nudges)
    total = score.overall()
    print(f"hvac-01: {total.caught}/{total.moments} caught, {len(score.false_nudges)} false, {result.llm_calls} LLM")
    assert total.caught == total.moments == 3
    assert score.false_nudges == []
    assert result.llm_calls >= 1  # the competitor mention went through the LLM


def test_a_balk_at_the_price_just_stated_is_watched_though_its_words_score_low(coach_models: object) -> None:
    from edge.coach.models import CoachModels

    assert isinstance(coach_models, CoachModels)
    balk = "Thirty-one. Huh. Nope."
    assert coach_models.semantic.score(balk)[MomentType.PRICE_OBJECTION_UNADDRESSED].score < 0.45
    after_price = Script()
    after_price.say("rep", "So, as designed, the cash price is thirty-one thousand four hundred.")
    reaction = after_price.say("cust", balk)
    after_price.say("rep", "And all of it's covered. Twenty-five years on the panels and on the microinverters.")
    fired = replay(after_price, LiveCoach("call", "solar", coach_models.semantic, None))
    assert [f.nudge.moment.utterance_ids[0] for f in fired if f.nudge.moment.type == "price_objection_unaddressed"] == [
        reaction.id
    ]
    out_of_the_blue = Script()
    out_of_the_blue.say("rep", "The panels go on the south side, where the sun is all day.")
    out_of_the_blue.say("cust", balk)
    out_of_the_blue.say("rep", "And all of it's covered. Twenty-five years on the panels and on the microinverters.")
    fired = replay(out_of_the_blue, LiveCoach("call", "solar", coach_models.semantic, None))
    assert "price_objection_unaddressed" not in types(fired)
    # The recogniser lost the price ("$21,400" heard as "in 2014", dev roofing-06 kitchen), but the customer
    # says it back: a reaction to a price all the same.
    echoed = Script()
    echoed.say("rep", "So all in, tear-off, thirty-two squares, the whole works, you had done it in 2014.")
    echo = echoed.say("cust", "21,000. I was hoping for about half that, honestly.")
    echoed.say("rep", "And the architectural shingle comes in six colors, so pick what you like.")
    fired = replay(echoed, LiveCoach("call", "roofing", coach_models.semantic, None))
    assert [f.nudge.moment.utterance_ids[0] for f in fired if f.nudge.moment.type == "price_objection_unaddressed"] == [
        echo.id
    ]


def test_a_recorded_call_stores_what_the_coach_weighed(
    coach_models: object, rendered: dict[str, Path], tmp_path: Path
) -> None:
    """The short fixture call through the whole edge pipeline with the coach, the rep enrolled: its near
    misses (one interruption, a booked follow-up) give no nudge, and every candidate is in the store.
    A watch link comes up with the call and is closed when it ends; the pinned rubric is stored on it."""
    from edge.audio_file import read_audio
    from edge.coach.models import CoachModels
    from edge.recording import record_call
    from edge.sources import WavSource
    from edge.speech_models import SpeechModels
    from haptics.fake import RecordingWatchLink
    from haptics.link import LinkState

    assert isinstance(coach_models, CoachModels)
    store = CallStore(tmp_path / "calls.db")
    speech = SpeechModels(ModelStore())
    wav = rendered["kitchen"]
    enroll = wav.with_name(wav.stem + ".enroll.wav")
    voiceprint = speech.voiceprint("marcus", read_audio(enroll).samples, str(enroll))
    link = RecordingWatchLink()

    async def open_watch() -> RecordingWatchLink:
        return link

    from rubric_cache.cache import EdgeRubricCache
    from rubric_cache.store import RubricStore

    pinned = EdgeRubricCache(RubricStore(tmp_path / "rubrics.db")).pin("local", "hvac")
    assert pinned is not None

    result = record_call(
        store, speech, WavSource(wav), "short-call", voiceprint, coach=coach_models, trade="hvac",
        second_pass=False, open_watch=open_watch, rubric=pinned,
    )  # fmt: skip
    assert store.get(result.call_id).rubric_version == pinned.ref
    assert link.connects == 1 and link.state == LinkState.DISCONNECTED
    assert "watch_connected" in [e["kind"] for e in store.events(result.call_id)]
    confident = [u for u in store.utterances(result.call_id) if u.speaker_confidence >= 0.65]
    assert len(confident) >= 6  # the coach had something to go on
    nudges = store.nudges(result.call_id)
    print(f"nudges: {nudges}; candidates: {store.coach_candidates(result.call_id)}")
    assert nudges == []
    assert store.get(result.call_id).status == "ended"
    cited = {i for row in store.coach_candidates(result.call_id) for i in row["utterance_ids"]}
    assert cited <= {u.id for u in store.utterances(result.call_id)}


def test_without_the_llm_the_coach_says_why_and_keeps_its_fast_stages(store: ModelStore, tmp_path: Path) -> None:
    """A device where the LLM was never provisioned: the coach loads, names what is missing, and coaches."""
    from edge.coach.models import CoachModels
    from models.store import StoreSettings

    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "minilm-l6-v2").symlink_to(store.settings.models_dir / "minilm-l6-v2")
    models = CoachModels(ModelStore(StoreSettings(home=home)))
    models.load()
    assert models.confirmer is None and models.llm_unavailable and "qwen" in models.llm_unavailable.lower()
    s = Script()
    s.say("cust", "Okay, so if we went with the middle one, how soon could you start?")
    s.say("rep", "I could have a crew out Tuesday.")
    session = models.session("call", CallStore(tmp_path / "calls.db"), "hvac")
    assert types(replay(s, session.coach)) == ["buying_signal"]


def test_a_failing_coach_stops_coaching_and_the_call_goes_on(tmp_path: Path) -> None:
    import asyncio

    from edge.coach.session import CoachSession

    class Broken(SemanticStage):
        def score(self, text: str) -> dict[MomentType, object]:  # type: ignore[override]
            raise RuntimeError("embedder fell over")

    store = CallStore(tmp_path / "calls.db")
    call_id = store.start_call("local", "test", 16_000)
    session = CoachSession(LiveCoach(call_id, "hvac", Broken(None)), store)
    u = Utterance("u000", call_id, "cust", Role.CUSTOMER, 0.0, 2.0, "Another company quoted us less.", 1.0, 0.9)

    async def run() -> None:
        task = asyncio.create_task(session.run(lambda: 2.0))
        session.subscriber(u, None)  # type: ignore[arg-type]
        session.finish()
        await asyncio.wait_for(task, 10)

    asyncio.run(run())
    assert session.failed and "embedder fell over" in session.failed
    assert [e["kind"] for e in store.events(call_id)][-1] == "coach_failed"


def test_a_recording_replayed_faster_than_speech_waits_for_the_llm(store: ModelStore, tmp_path: Path) -> None:
    """Live, a verdict later than ``confirm_timeout_s`` is not waited for; a file read as fast as it goes has no
    rep waiting, so the coach confirms inline and the slow model still has its say."""
    import time as wall

    from edge.coach.confirmer import LlmConfirmer
    from edge.coach.models import CoachModels
    from models.llm import LlmChoice

    class SlowLlm:
        def prime(self, prefix: str) -> int:
            return 0

        def choose(self, suffix: str, answers: list[str]) -> LlmChoice:
            wall.sleep(0.3)
            return LlmChoice({answers[0]: 0.9, answers[1]: 0.1}, 20, 0, 0.3)

    s = Script()
    s.say("cust", "And honestly, we almost signed with the guy who came to the door in June.")
    s.say("rep", "Good to know. Let me look at the deck first.")
    fired = {}
    for paced in (True, False):
        models = CoachModels(store, settings=CoachSettings(confirm_timeout_s=0.05))
        models.__dict__["confirmer"] = LlmConfirmer(SlowLlm())
        session = models.session("call", CallStore(tmp_path / f"{paced}.db"), "pest", paced=paced)
        fired[paced] = types(replay(s, session.coach))
        verdicts = [d.verdict for d in session.coach.gate.log if d.candidate.type == MomentType.COMPETITOR_MENTIONED]
        assert verdicts, "the mention must be a candidate that wants the LLM"
    assert fired == {True: [], False: ["competitor_mentioned"]}
