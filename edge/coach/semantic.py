"""The semantic stage: what kind of moment a customer's utterance is, in milliseconds.

Two readings, combined into one score per type:
- nearest exemplars: the MiniLM embedding of the utterance and of each of its sentences against the
  taxonomy's examples and the hand-written bank (``exemplars``) for it, and their counter-examples and
  ordinary visit talk against it; a sentence nearer one of those than any example scores 0;
- a cue: the few phrasings that make a type all but certain ("how soon could you", "another
  company quoted us").

The score is a ranking, not a probability; the LLM confirms what passes (``confirmer``), and the gate
applies the type's threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.coach.cues import NUMBER_WORD, SENTENCE_BREAK, WEEKDAY
from edge.coach.exemplars import COUNTER_EXEMPLARS, EXEMPLARS, NEUTRAL
from edge.coach.taxonomy import TAXONOMY, MomentType

_CUES: dict[MomentType, re.Pattern[str]] = {
    MomentType.PRICE_OBJECTION_UNADDRESSED: re.compile(
        # "A lot more" in a question weighs a price not yet given ("are we talking Desert Guard money or a lot
        # more than that?", dev pest-10); said, it objects to one.
        r"\b(a lot (more|of money|right now)(?![^.?!]*\?)|too (much|expensive|pricey)|expensive|pricey|"
        r"over (our|my) budget|"
        # Steep as a price is, not as stairs or a roof are ("those stairs are steep as anything", dev hvac-11).
        r"(that's|that is|it's|seems|sounds|bit|little|pretty|kinda|awful|awfully|mighty|real|really|too) steep"
        r"\b(?! (roof|pitch|stairs?|steps|slope|driveway|hill|grade|climb))|steep (price|number|quote)|"
        r"out of (our|my) (budget|range)|can't (afford|swing|do that)|don't have that|more than (i|we)('d)? "
        r"(was |were )?(expecting|figuring|figured|thought|thinking|budgeted|planned)|that's (a lot|crazy|insane)|"
        r"(wow|whoa|yikes)\b.{0,40}\b(thousand|grand|\$|price|money)|sticker shock|"
        # "I don't know how we'd ever come up with that", "it's not like we have that just sitting around".
        r"come up with (that|the money|that kind of money)|(have|got) (that|that kind of money) (just )?sitting|"
        # The number they had in mind: "I was thinking, like, five. Maybe six, tops." "I was hoping for about half."
        r"\b(i|we) (was|were|had been|'d been) (thinking|expecting|hoping|figuring|budgeting)( for| on)?,?"
        r"( like,?| maybe| about| around| more like| closer to| under)? (\$?\d|one|two|three|four|five|six|seven|"
        r"eight|nine|ten|twelve|fifteen|twenty|thirty|forty|fifty|half|a (couple|few) (thousand|grand|hundred))|"
        # Measured against what they had in mind or paid for something else: "that's way past what I had in my
        # head", "more than I paid for my truck", "not if that's coming out of my pocket".
        r"(more than|past|over|above|beyond) what (i|we) (had in (my|our) (head|mind)|had in mind|expected|"
        r"were expecting|figured|were thinking|budgeted|wanted to spend)|more than (i|we) (paid|spent) (for|on) "
        r"(my|our|the|a) (car|truck|house|first house|boat|wedding)|"
        r"(not|no way|if|can't|won't)\b.{0,25}\b(coming|come|comes) out of (my|our) (own )?pocket)"
    ),
    MomentType.DECISION_MAKER_OBJECTION: re.compile(
        r"\b((talk|check|run (it|this|that) by|ask|discuss|go over (it|this)) (it )?(with|to)? ?my "
        r"(wife|husband|partner|spouse|sister|brother|mom|mother|dad|father|son|daughter|landlord|"
        r"business partner)|without (talking to |asking )?my (wife|husband|partner|spouse|sister|brother|landlord)|"
        r"(wife|husband|partner|spouse|sister|brother|landlord|co-?owner)('s)? (has|have|needs?|would need|got) "
        r"to (see|sign|approve|weigh in|look|agree|be here|decide)|(he|she|they)'?(s| is| are| has| have)? "
        r"(the one who|gonna have to|going to have to|got to|has to|have to) (decide|sign|approve|see)|"
        r"(gotta|got to|have to|need to|i'd have to) talk to \w+( about (it|this|that))?( first\b|[.!]|$)|"
        r"can'?t (really )?(decide|say yes|sign)( anything| something| to something)?( like this| this big)?"
        r"( today| by myself| on my own| alone| anyway)|handles (all )?(the )?(money|finances|bills|budget)|"
        r"on the deed|(gonna|going to) want to see (it|the number|the numbers)|"
        r"(he|she|they)('ll| will)( definitely| probably)? (want|need|have) to (see|look at|sign|approve|decide)|"
        r"(wife|husband|partner)('s| is) (working|away|out of town|at work|traveling)|"
        # Someone absent who must see it first, named or not: "he'd have to see anything before I sign it",
        # "won't move on anything this size without Kevin looking it over", "she does all our money things".
        # (The recogniser drops the "'d" of a deferral said quickly: "she have to look at all this", dev hvac-06.)
        r"((he|she)('d| would)?|they('d| would)) (have|need|want) to (see|look at|sign|approve|okay)|"
        r"without \w+ (looking (it|this|that|them) over|seeing (it|this|that|them))|"
        r"(handles|does|manages|takes care of) (all )?(of )?(our|the|my) (money|finances|bills|budget|taxes|books)|"
        # "I can't sign anything without him", "can't do this without Jake", "Rich has to agree to it", "she's
        # gotta sign off on it" (dev hvac-10, solar-10, pest-09).
        r"can'?t (sign|do|decide|agree to) (anything|this|that|it|something)( \w+)? without (?!(a|an|the|any|it|that|"
        r"this|some|more|financing|insurance|permits?|approval|seeing|knowing|paying|getting|having|money|cash)\b)"
        r"(him|her|them|my \w+|\w+)\b|"
        r"(he|she|they|\w+)('s| has| is)? (gotta|got a|got to|has to|have to|needs? to|would have to) (agree|sign off|"
        r"okay it|ok it|approve|give the ok)|"
        # Someone else's approval first: "I can't sign anything till the HOA's architectural committee approves
        # the color" (heard as "... anything to the HOA's ... approved", dev roofing-05 kitchen).
        r"can'?t sign (anything|something|it|this|that)\b.{0,50}\b(approves?|approved|agrees?|signs? off|okays?))"
    ),
    MomentType.COMPETITOR_MENTIONED: re.compile(
        r"\b((another|other) (company|companies|guys|outfit|contractor|installer)|(got|have|had|getting) "
        r"(a |another |other |a couple )?(quote|quotes|estimate|estimates|bid|bids)|quoted (us|me)|"
        r"came (out|by) .{0,30}(quote|estimate|price|offer)|(their|his|her) (price|quote|offer|estimate) was|"
        r"(comparing|compare) (quotes|prices|estimates)|(almost|nearly) (signed|went) with|"
        r"knocked on (our|my|the) door|door to door|"
        r"(guy|man|lady|woman|rep|salesman|somebody|someone|company) from .{0,40}"
        r"(said|quoted|offer|price|cover|deal|cheaper)|"
        # A visit told in passing, the price left implied: "Fella from Kessler was out in the fall. Had it
        # around there." "Outfit that was here in March had it at twenty-six." "Their man came out Tuesday."
        # (A fella or a crew is a competitor's only from somewhere: "the fella came out with his little meter and
        # red-tagged it" is the gas company's, dev hvac-09.)
        r"((outfit|contractor|salesman)( from \w+( \w+)?)?|(fella|fellow|crew|guy|man|lady|company) from \w+"
        r"( \w+)?) (that |who )?(was|were|came) (out|here|by|over)\b|"
        # "We had a guy from SunSpark out here two weeks ago. He's got us at twenty-four thousand." (dev solar-09)
        r"had (a|some|this) (guy|man|fella|lady|woman|rep|salesman|company) from \w+( \w+)? (out|over|come)\b|"
        r"(he's|she's|they've|they|he|she) (got|had|has|have) us at\b|"
        r"(their|his|her) (man|guy|fella|rep|salesman|estimator) came|(outfit|company|contractor|installer) called|"
        r"gave (us|me) a (price|quote|number|bid|estimate)|(do it|put (one|it) in|charge)\b.{0,25}(less|cheaper) than|"
        r"for (a lot |way |much )?(less|cheaper) than (a company|you guys|you|your company|what you)|"
        # Another company's look, had or wanted: "So I thought, well, I'd better get a second opinion.", "we've got
        # another fella coming Thursday, from Gulf Coast Termite. So we're getting two looks at it." (dev pest-12)
        r"second (opinion|quote|estimate|bid)|(another|other|a second) (fella|fellow|guy|company|outfit|contractor|"
        r"crew|man|lady|rep|salesman|estimator|roofer|installer) (is )?(coming|comes|lined up|scheduled|booked)\b"
        r".{0,30}\b(from|to (look|give|quote|bid|measure|take a look|check (it|things) out|do an estimate))\b|"
        r"getting (two|three|a couple of|a few|other|more|some other) (looks|opinions|quotes|bids|estimates|prices)|"
        # Shopping it, or a visit told only by its day, the company's name lost to the recogniser ("Arctic Air
        # came out Thursday" heard as "Art2Care came out Thursday and gave us a hug", "Fella from Kessler was
        # out in the fall" as "further from Caslow was out in the fall", dev hvac-01, hvac-07 kitchen). Not
        # "came over": a neighbour comes over to complain (dev hvac-05).
        r"(called|calling|shopped|shopping|shop|shopping it) around|"
        rf"came out (here )?(on )?({WEEKDAY}|yesterday|"
        r"last (week|month|fall|spring|summer|winter|year)|in the (fall|spring|summer|winter)|the other day)\b|"
        r"from (?!the\b)\w+( \w+)? (was|were|came) (out|here|by)\b|"
        # What another outfit offered, told the way people tell it: "We had Lakeside Air out here on Tuesday ...
        # wrote eleven-something on the back of his card", "He said he'd bait the whole house for nine hundred",
        # "said he'd take care of my deductible", "He told us zero down" (held-out batch -13/-14, scored first).
        rf"(had|have|got) \w+( \w+){{0,2}} (out|over) (here )?(on )?({WEEKDAY}|yesterday|last week|the other day)\b|"
        r"wrote .{0,25}\bon (the back of )?(his|her|their|a) card|"
        rf"(he|she|they) (said|told (us|me)|offered)( that)? (he'd|she'd|they'd|(he|she|they) (would|could)|to)\b"
        rf".{{0,40}}\bfor (\$?\d|a few|{NUMBER_WORD}\b)|"
        r"(take care of|cover|covering|waive|waiving|eat|eating) (my|our|the) deductible|"
        r"(told|offered|promised) (us|me) (zero|no|nothing)( money)? down)"
    ),
    MomentType.BUYING_SIGNAL: re.compile(
        r"\b(how soon|when (can|could|would) (you|your|y'all|we|they) (start|get|come|do|install|have|be|put)|"
        r"(get|put) (us |it )?on (the|your) (schedule|calendar)|where do (i|we) sign|"
        r"what('s| is| do) (the next step|we need to do)|sign (us|me) up|"
        r"what (would|do|does|will|'d) (we|i) (have|need) to do to (get|go|start|sign|lock|have)\b|"
        r"if we (went|go|did|do) (with|ahead).{0,60}(when|how soon|start)|"
        # Planning the job itself: "if we did the second one, who fills out the rebate papers?", "before your
        # men come", "your guy would have to go up through the closet again".
        r"if we (did|do|went with|go with|got) (this|that|the \w+ one)\b(?! ourselves| myself)|"
        r"before (your (men|man|guys|guy|crew|installers?|techs?|technician)|they|he) (come|comes|get here|start)|"
        r"your (men|man|guys|guy|crew|installers?|techs?|technician) (would|will|'d|'ll|are going to|is going to)|"
        # Fitting the job to a date: "Can you do it before the twentieth?", "could your guy come before Saturday?"
        r"(can|could|would) (you( guys| all)?|y'all|they|your (men|man|guys|guy|crew|installers?|techs?|"
        r"technician|team)) "
        r"(come(?! back)|do it|do this|do the job|start|get (it|this|us|them) (done|in|scheduled)|be (here|out)|"
        r"fit (us|it) in|install( it)?)\b.{0,25}\b(before|by|next|this) (?!(i|we|you|he|she|they|my|our|dinner|"
        r"lunch)\b)\w+)"
    ),
}


def sentences(text: str, min_words: int = 4) -> list[str]:
    """The text's sentences; one too short to mean much on its own ("Okay.") joins the next."""
    out: list[str] = []
    carry = ""
    for part in SENTENCE_BREAK.split(text.strip()):
        part = f"{carry} {part}".strip() if carry else part
        if len(part.split()) < min_words:
            carry = part
            continue
        out.append(part)
        carry = ""
    if carry:
        out = [*out[:-1], f"{out[-1]} {carry}"] if out else [carry]
    return out


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SemanticSettings:
    similarity_floor: float = 0.25
    """Exemplar similarity that scores 0."""
    similarity_full: float = 0.65
    """Exemplar similarity that scores 1."""
    exemplar_weight: float = 0.5
    """Share of the score from the exemplars; the rest is the cue."""
    types: tuple[MomentType, ...] = field(default_factory=lambda: tuple(_CUES))


@dataclass(frozen=True)
class SemanticScore:
    type: MomentType
    score: float
    """0-1."""
    nearest: str
    """The example nearest the utterance (for the candidate log)."""
    cue: bool


class SemanticStage:
    def __init__(self, embedder: TextEmbedder | None, settings: SemanticSettings | None = None) -> None:
        self.settings = settings or SemanticSettings()
        self._embedder = embedder
        self._exemplars: dict[MomentType, tuple[np.ndarray, np.ndarray, tuple[str, ...]]] = {}
        if embedder is not None:
            neutral = embedder.embed(list(NEUTRAL))
            for t in self.settings.types:
                d = TAXONOMY[t]
                examples = (*d.examples, *EXEMPLARS.get(t, ()))
                pos = embedder.embed(list(examples))
                against = [*d.counter_examples, *COUNTER_EXEMPLARS.get(t, ())]
                neg = embedder.embed(against) if against else np.zeros((0, pos.shape[1]))
                self._exemplars[t] = (pos, np.vstack([neg, neutral]), examples)

    def score(self, text: str) -> dict[MomentType, SemanticScore]:
        s = self.settings
        lowered = text.lower()
        # A customer turn often says several things ("Okay, cool. And, full disclosure, another outfit
        # quoted us ..."): each sentence is compared on its own as well as the whole, so the one that is the
        # moment is not averaged away by the small talk around it.
        pieces = [text, *(p for p in sentences(text) if p != text)]
        vectors = self._embedder.embed(pieces) if self._embedder is not None else None
        out = {}
        for t in s.types:
            cue = bool(_CUES[t].search(lowered))
            exemplar, nearest = 0.0, ""
            if vectors is not None:
                pos, neg, examples = self._exemplars[t]
                sims = vectors @ pos.T  # pieces x examples
                piece, example = np.unravel_index(int(sims.argmax()), sims.shape)
                best = float(sims[piece, example])
                nearest = examples[int(example)]
                against = float((neg @ vectors[piece]).max()) if len(neg) else -1.0
                if against < best:  # nearer a counter-example than any example: not this type
                    exemplar = float(
                        np.clip((best - s.similarity_floor) / (s.similarity_full - s.similarity_floor), 0, 1)
                    )
            weight = s.exemplar_weight if vectors is not None else 0.0
            out[t] = SemanticScore(t, round(weight * exemplar + (1 - weight) * float(cue), 3), nearest, cue)
        return out

    def relevance(self, question: str, reply: str) -> float | None:
        """How well a reply's best sentence answers a question: MiniLM was trained on question-answer pairs
        among others, so an answer that shares no words with the question still scores ("Is it rotted?" "It's
        firm."). None without the embedder."""
        if self._embedder is None:
            return None
        vectors = self._embedder.embed([question, *sentences(reply)])
        return float((vectors[1:] @ vectors[0]).max())
