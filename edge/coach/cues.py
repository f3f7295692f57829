"""Lexical cues in what was said: the cheap, explainable half of the coach's reading of an utterance.

Each cue is a small function of the text (as Whisper writes it: punctuated, numbers as digits).
They decide only what words decide well: a backchannel, a question mark, a stated price, an
acknowledgement at the start of a reply. What needs meaning (is this an objection? a buying
signal?) goes to the semantic stage and the LLM.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9$][a-z0-9'$,.-]*[a-z0-9]|[a-z0-9]")
# Word lists as alternations: a listener's signals, and words that carry no topic.
_BACKCHANNEL_WORD = re.compile(
    r"mm|mhm|mm-hm|mmhm|hmm|hm|uh-huh|uh|huh|yeah|yep|yup|yes|okay|ok|right|sure|got|it|i|see|oh|wow|nice|great|"
    r"alright|all|gotcha|cool|true|exactly|good|fine"
)
# A listener's sympathy while the other talks (dev pest-08: the rep's "Oh no." under the customer's story
# was counted as cutting in).
_REACTION = re.compile(r"(oh|ah|aw) (no|dear|man|boy|gosh|jeez|my)( god| goodness)?")
_STOPWORD = re.compile(
    r"a|an|the|and|or|but|so|if|then|than|that|this|these|those|there|their|they|them|we|us|our|you|your|i|me|my|"
    r"it|its|is|are|was|were|be|been|being|do|does|did|doing|have|has|had|having|will|would|can|could|should|"
    r"shall|may|might|must|not|no|yes|yeah|okay|um|uh|like|just|really|about|what|when|where|which|who|how|why|"
    r"with|for|from|into|onto|of|on|in|at|to|up|down|out|over|under|again|also|too|very|much|many|more|most|some|"
    r"any|all|each|every|other|such|only|own|same|few|both|here|guys|thing|things|get|got|going|gonna|want|need|"
    r"know|think|look|well|right|sure|kind|sort|lot|little|pretty|house|home|place|said|told|"
    # Verbs too common to name a topic ("when you take the roof off ...?" is not answered by "let me take a
    # look", dev roofing-09).
    r"take|taking|took|make|making|made|come|coming|came|give|gave|keep|tell|mean|says|goes"
)
WEEKDAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
NUMBER_WORD = (
    r"(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
)
# A count of installs is no price, but "9,850 installed" is one (dev hvac-08, kitchen: Whisper wrote the
# price in digits and "install" read it as a count).
_UNITS = (
    r"kilowatt|kwh|watt|hour|minute|degree|percent|mile|square|feet|foot|gallon|btu|pound|year|people|homes|roofs|"
    r"installs\b|installations\b"
)
"""What an amount can count instead of money."""
_NOT_MONEY = rf"[\w ,-]{{0,20}}({_UNITS})"
_AFTER_MONEY = r"a|per|for|to|and|dollars|bucks|up|installed|total|flat|plus|then|with|each|every"
_PRICE = re.compile(
    r"\$\s?\d{1,3}(,\d{3})+|\$\s?\d{4,}|\$\s?\d+(\.\d+)?\s*(k|thousand|grand)\b"
    r"|\b\d{1,3}(,\d{3})+\s*dollars\b|\b(your|the) investment\b|\bit'?s\s+\$\s?\d|\bis\s+\$\s?\d"
    # In words, as people say a price ("it comes to fourteen thousand two hundred", "twenty-one grand for
    # everything"): after a verb of pricing or at a sentence's start, and not an amount of energy or area
    # ("eleven thousand kilowatt-hours") or an example ("if you owe, say, four thousand in tax").
    r"|(^|[.?!]\s+|\b(comes? to|come out to|is|it's|that's|runs?|totals?|for|at|be|only)\s+)"
    rf"{NUMBER_WORD}([- ]{NUMBER_WORD})? (thousand|grand)\b(?!{_NOT_MONEY})"
    # Hundreds, as a smaller job is priced aloud or as Whisper writes it: "the first visit is one eighty-nine",
    # "it's two twenty-five to start", "is 189." (dev pest-09) ...
    rf"|\b(is|it's|that's|comes? to|runs?|totals?|be|only|you're at)\s+({NUMBER_WORD}[- ]({NUMBER_WORD}|hundred)"
    rf"([- ]{NUMBER_WORD})?\b|\d{{2,3}}(?![\d,%]|\.\d))(?!{_NOT_MONEY})"
    # ... said as money, not as a count: "is one eighty-nine, and", "two twenty-five to start", not "twenty-one
    # panels" (dev solar-07).
    rf"(?=\s*([.,;!?]|$|\s({_AFTER_MONEY})\b))"
    # Whisper's digits without the dollar sign ("the single stage is 8,900", "there's 11,400") ...
    r"|\b(comes? to|come out to|is|it's|that's|there's|runs?|totals?|for|at|be|only|you're at)\s+"
    rf"((about|around|roughly|just) )?\d{{1,3}}(,\d{{3}})+(?![\d,])(?!{_NOT_MONEY})"
    # ... and without the comma below ten thousand, as the price of this job ("the first year of monitoring is
    # 1150.", held-out batch pest-14 kitchen; not "at 9000 something's getting left out" of another's quote, dev
    # roofing-06), unless it could be a year.
    rf"|\b(comes? to|come out to|is|it's|that's|runs?|totals?|you're at)\s+(?!(19|20)\d\d\b)[1-9]\d{{3}}"
    rf"(?![\d,])(?!{_NOT_MONEY})"
)
# Amounts that are no price for the job: a limit of cover ("we repair it, up to $100,000"), what the customer
# paid before ("so you paid about $1,300 for power last year").
_NOT_THE_PRICE = re.compile(
    r"\b(up to|as much as|coverage of|covered for|worth of) \$\s?[\d,.]+(\s*(k|thousand|grand))?"
    # An amount of money back: "a $2,000 rebate", "fifteen hundred off".
    rf"|(\$\s?[\d,.]+|\b({NUMBER_WORD}[- ])+(thousand|grand|hundred))(\s*(k|thousand|grand))?"
    r"( dollars?)? (rebate|credit|back|off|discount)\b"
    r"|\b(you|you've|you guys|y'all|we|they)( have|'ve)? (paid|spent|were paying|been paying)\b[^.?!]{0,30}?"
    r"\$\s?[\d,.]+(\s*(k|thousand|grand))?"
)
# Once a sentence turns to money back (a rebate, a tax credit), its amounts are that, not the job's price ("the
# federal credit, that's up to two thousand back, and the utility has a rebate, I think it's five hundred right
# now, could be seven-fifty", dev hvac-12), unless it nets them out ("after the credit you're at twenty-two").
_MONEY_BACK = re.compile(r"\b(rebates?|credits?|incentives?|cash back)\b")
_NETTED = re.compile(
    r"\b(after|net|minus|less|out of pocket|all in|comes? to|totals?|you're at|brings? (it|that|you)( down)? to)\b"
)
_SPOKEN_DOLLAR = re.compile(r"\bdollars?\s+(?=\d)")
# Money has come up: an amount, or a word of paying.
_MONEY = re.compile(
    r"\$\s?\d|\b\d{1,3}(,\d{3})+\b|\b(thousand|grand|hundred|price|prices|priced|cost|costs|budget|afford|money|"
    r"pay|paid|paying|spend|spent|expensive|cheap|cheaper|dollars?|bucks|quote|quoted|estimate|financing|payments?)\b"
)
_ACKNOWLEDGE = re.compile(
    r"^\W*(i hear you|i understand|i get (it|that)|i know|fair|that's fair|totally|absolutely|it is\b|you're right|"
    r"that's (real|a lot of) money|i hear that|understood|no doubt|makes sense|believe me|trust me|i won't pretend)"
    r"|\b(i hear you|i understand|i get that|that's real money|i won't pretend|fair enough|"
    r"break (it|that) down|if (it's|that's) (a stretch|too much)|(lower|smaller|cheaper) option|pay(s)? for itself)\b"
)
_REQUESTS_EXPLANATION = re.compile(
    r"\b(walk (me|us) through|explain|tell (me|us) (more|about|how|what)|how does .{0,40}work|go over)\b"
)
# The whole story asked for, unless it is a question of how long ("How long does this whole thing take, start to
# finish?" wants a number of weeks, dev solar-06 and solar-12).
_WHOLE_STORY = re.compile(r"\b(start to finish|from the (top|beginning))\b")
_HOW_LONG = re.compile(r"\bhow long\b")
_DEFERS_ANSWER = re.compile(
    r"\b(good question|great question|i'll (get to|come back to|explain|answer) (that|it|this|your)|"
    r"get (back )?to that|come back to (that|it)|(to|on) your question)\b"
    # Looking first so as to answer ("Let me check the sill and the joists first, and then I can tell you for
    # sure", held-out batch pest-14).
    r"|\b(then|once|after (that|i))\b.{0,25}\bi('ll| can| will)( be able to)? (tell|say|know|give you)\b"
    r"|\bi'll know (more|for sure|better)\b"
    # Asking for a moment puts the question on hold rather than past it ("Hang on, let me check the coil first").
    r"|^\W*(hang on|hold on|one sec(ond)?|just a sec(ond)?|give me a (sec|second|minute))\b"
)
SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+")
"""Where one sentence ends and the next begins (the semantic stage splits turns with it too)."""
_CLAUSE_SPLIT = re.compile(r"\s*(?:[,;:]|\s-\s|—)\s*")
_MOVES_ON = re.compile(r"^\W*(so|and|now|okay|ok|alright|all right|anyway|let me|let's|but)\b")
_ANSWER_START = re.compile(
    # After a laugh or an "oh" ("Ha! Sure, thanks.", "Oh, I'd love some").
    r"^\W*((ha|haha|oh|ah|well|hm)\W+)?"
    r"(\$?\d+|yes|yeah|yep|yup|no|nope|nah|sure|absolutely|definitely|of course|we do|we don't|we can|"
    r"we can't|it does|it doesn't|it is|it's not|they do|they don't|about|around|usually|typically|depends|"
    r"it depends|probably|maybe|honestly|thanks|thank you|no thanks|i'm (good|okay|ok|fine|all set)|"
    r"i'd love|i would love|either|both|neither)\b"
)
_QUESTION_SENTENCE = re.compile(r"[^.?!]*\?")
_LEAD_IN = re.compile(
    r"^(\W|and|or|but|so|okay|ok|oh|um|uh|well|like|wait|hey|now|then|also|actually|honestly|"
    r"[a-z]+,)+\s*"
)
_INTERROGATIVE = re.compile(
    r"^(what|what's|whats|how|how's|when|where|where's|which|who|who's|why|do|does|did|is|isn't|are|aren't|was|"
    r"were|can|can't|could|would|will|won't|should|have|has|had|any|anything|you|your)\b"
)
_TAG = re.compile(
    r"(,\s*(right|huh|yeah|no|you know|correct|"
    # "You're not a Huskers fan, are you?", "... wouldn't they?": the speaker says what they think is so.
    r"(is|isn't|are|aren't|do|don't|does|doesn't|did|didn't|was|wasn't|will|won't|would|wouldn't|can|can't|"
    r"have|haven't|has|hasn't) (it|you|they|he|she|we|i|there|that))\?$)"
)
# Not asking: a story's opener ("you remember the hail in June?"), asking leave to ask ("can I ask something
# dumb?": the question comes next, often cut into its own piece on room audio) or a "why" with a bare verb,
# which argues rather than asks ("I figure, if I'm gonna be here anyway, why keep handing Xcel all that money?").
_ASKS_LEAVE = re.compile(
    r"^(can|could|may) i ask( you)?( (something|a question|one more thing))?( (quick|dumb|stupid|real quick))?\W*$"
)
_NOT_ASKING = re.compile(
    r"^(you remember|remember|guess what|you know what)\b"
    # Hospitality, not a question about the job ("Can I get you some water?", held-out batch solar-13).
    r"|^(can|could|may) (i|we) (get|bring|offer|fix|make|pour) you\b"
    r"|^(do|would) you (want|like) (some|a|anything|coffee|tea|water|something)\b"
    r"|^why (?!(is|isn't|are|aren't|do|don't|does|doesn't|did|didn't|would|wouldn't|will|won't|can|can't|could|"
    r"couldn't|should|shouldn't|was|wasn't|were|has|hasn't|have|haven't|had|the|a|an|that|this|it|you|we|they|"
    r"he|she|i|my|your|our)\b)\w+"
)
_ASKS_COST = re.compile(
    r"\b(cost|price|run|much|charge|pay|payment|monthly|month|ballpark|number|comes? to|total|financing|interest)\b"
    r"|\d%"  # "What's that on the 0%?" (held-out batch hvac-13 kitchen)
)
# "When" asks a time as the question word, not as a condition ("when the power goes out, do these still work?"
# is answered by no "a year", dev solar-09).
_ASKS_TIME = re.compile(
    r"\b(how (soon|long)|soonest|what day|what time|before|schedule|start)\b"
    r"|(^|[,;]\s*)\W*(and |so |but |okay |ok )?when(?! (the|you|we|i|it|they|he|she|there|that|this|your|my|our)\b)"
)
# An amount in dollars, or a monthly payment as Whisper writes it ("So about 536 a month").
_AMOUNT = re.compile(r"\$\s?\d|\b\d[\d,]*(\.\d+)? (a|per) month\b")
# An amount said in words, as a price is said aloud: "eight thousand nine hundred", "two twenty-five".
_AMOUNT_IN_WORDS = re.compile(rf"\b{NUMBER_WORD}([- ]{NUMBER_WORD})*[- ]({NUMBER_WORD}|hundred|thousand|grand)\b")
_TIME_ANSWER = re.compile(
    r"\b(\d+|one|two|three|four|five|six|eight|ten|a) (to \w+ )?(days?|weeks?|months?|hours?|years?)\b"
    rf"|\b({WEEKDAY}|tomorrow|next week|this week|today)\b"
)
_YES_NO = re.compile(r"\b(yes|yeah|yep|no|nope|not|maybe|probably|depends)\b")
# A yes/no question about "it" or "that" is often answered by saying what it is, at the start of the reply
# or of a clause of its first sentence ("Is it rotted?" "It's firm." / "For a house this size, that's half
# what you need.").
_SAYS_WHAT_IT_IS = re.compile(
    r"^\W*(it|that|they|these|those|this)('s|'re| is| are| does| doesn't| do| don't| will| won't| would| can| has)\b"
)
_WHEN = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|next week|this week|"
    r"the \d{1,2}(st|nd|rd|th)|\d{1,2}(:\d\d)?\s*(a\.?m\.?|p\.?m\.?|o'clock)|"
    # "at 9" (a clock hour), not Whisper's digits for an interval ("we come back at 7 days and at 14").
    r"at (1[0-2]|[1-9])\b(?!\s*(days?|weeks?|months?|years?|percent|degrees?|feet|foot|inch)))"
)
_COMMIT = re.compile(
    r"\b(book|booked|schedul\w*|put you (down|on)|pencil\w*|set (for|up)|see you|crew|install\w*|"
    r"come (back|out|by)|be (back|here|out)|survey|appointment|i'll (call|text|email|send)|we'll (call|text|send)|"
    r"follow[- ]up|meet)"
)
_OFFER = re.compile(r"\b((i|we) (could|can|might)|if you('d)? (want|like)|want me to|would you like|how about)\b")
_DONE_DEAL = re.compile(
    r"\b(you're (all )?set|signed|e-?sign\w*|sign (right )?here|on the tablet|sent (you )?the agreement|"
    r"welcome aboard|got you (down|on the schedule))\b"
)
_WIND_DOWN = re.compile(
    r"\b(here's my card|my card|give (us|me|the office|my office) a (call|ring|shout)|"
    r"call (us|me|the office) (whenever|anytime|if)|think (it )?over|no pressure|"
    r"whenever (you're|you guys are|y'all are|she's|he's|they're) ready|"
    r"take your time|talk it over|when(ever)? you (decide|guys decide)|you('ve)? (have|got) my number|my number's|"
    r"(leave|leaving) (you )?(the|this|my|a) (proposal|estimate|quote|paperwork|pictures|photos|brochure|folder)|"
    r"thanks? (you )?(both |all )?for having me)\b"
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _bare_words(text: str) -> list[str]:
    """The words without the punctuation Whisper hangs on them ("Yeah." → "yeah")."""
    return [w.strip(".,!?") for w in words(text)]


def is_backchannel(text: str) -> bool:
    """ "Mm-hm", "Okay.", "Yeah, right", "Oh no!": a listener's signal, not a turn."""
    ws = _bare_words(text)
    return (0 < len(ws) <= 3 and all(_BACKCHANNEL_WORD.fullmatch(w) for w in ws)) or bool(
        _REACTION.fullmatch(" ".join(ws))
    )


def asks_question(text: str) -> bool:
    return "?" in text


_BARE_ANSWER = re.compile(
    r"(yes|yeah|yep|yup|no|nope|correct|that's right|it is|it was|it does|we do|i do)( sir| ma'am)?"
)


def is_bare_answer(text: str) -> bool:
    """ "Yeah.", "Yep.", "No.": all a reply to a yes/no question says ("That sound right?" "Yeah."), where a
    listener's "mm-hm" or "okay" only keeps the speaker going."""
    return bool(_BARE_ANSWER.fullmatch(" ".join(_bare_words(text))))


def _clauses(sentence: str) -> list[str]:
    """The sentence's comma-separated clauses, each without its lead-in ("oh", "and", "Marcus,"), less those that
    only ask leave to ask: the question may follow in the same sentence ("Can I ask, do you folks do skylights
    too?", dev roofing-11)."""
    clauses = (_LEAD_IN.sub("", c.strip()) for c in sentence.split(","))
    return [c for c in clauses if not _ASKS_LEAVE.match(c)]


def direct_questions(text: str) -> list[str]:
    """The sentences that ask the listener something: a question word or an inverted verb up front
    ("do you guys do gutters too?"), not a rising statement ("it started in, um, April?") or a tag
    ("they're not gonna rip you off, right?")."""
    out = []
    for sentence in _QUESTION_SENTENCE.findall(text.lower()):
        sentence = sentence.strip()
        if _TAG.search(sentence):
            continue
        # The question may follow a condition or a name: "Marcus, if we go ahead, do we keep the tank?"
        clauses = _clauses(sentence)
        if not clauses or any(_NOT_ASKING.match(c) for c in clauses):
            continue
        if any(_INTERROGATIVE.match(c) and len(c.split()) >= 3 for c in clauses) or _INTERROGATIVE.match(clauses[0]):
            out.append(sentence)
    return out


# A question whose "?" the recogniser dropped: it still opens with the verb before its subject ("Do this keep
# running." for "Do these keep running?", dev solar-05 kitchen). Whisper punctuates each piece of a turn on
# its own, and a piece that ends where the speaker breathed often ends in a full stop.
# Not a negative one: with no question mark, "Well, isn't that something." exclaims (held-out batch hvac-14).
_INVERTED = re.compile(
    r"^(do|does|did|is|are|was|were|can|could|would|will|should|has|have) (i|you|we|they|he|she|it|"
    r"this|that|these|those|the|your|my|our|there|y'all|anybody|anyone|somebody|someone)\b"
)


def unmarked_questions(text: str) -> list[str]:
    """Sentences with no question mark that are put as questions by their word order (see ``_INVERTED``)."""
    out = []
    for sentence in SENTENCE_BREAK.split(text.lower().strip()):
        sentence = sentence.strip()
        # A sentence cut off ("... or do they have their..."): the speaker never finished asking, and the
        # listener who cut in often answered already (dev roofing-01 kitchen).
        if not sentence or sentence.endswith(("?", "...", "…", "-", "—")):
            continue
        clauses = _clauses(sentence)
        if any(_INVERTED.match(c) and len(c.split()) >= 3 and not _NOT_ASKING.match(c) for c in clauses):
            out.append(sentence)
    return out


_FIRST_PERSON = re.compile(r"\b(i|i'm|i'd|i'll|i've|me|my|myself|we|we're|we'd|we'll|we've|us|our)\b")


def speaks_for_self(text: str) -> bool:
    """Someone in the room answering in the first person ("I'm right here, Greg. I think we do the Class 4."):
    the person a deferral named may be them. Speaking of a third person ("Jake will say yes.") is not."""
    return bool(_FIRST_PERSON.search(text.lower()))


def answers_kind(question: str, reply: str) -> bool:
    """The reply gives the kind of thing the question asks for: a price for "what does it run?", a
    time or duration for "how soon?"."""
    q, r = question.lower(), _dollar_signs(reply.lower())
    return bool(
        (_ASKS_COST.search(q) and (states_price(r) or _AMOUNT.search(r) or _AMOUNT_IN_WORDS.search(r)))
        or (_ASKS_TIME.search(q) and _TIME_ANSWER.search(r))
    )


def states_price(text: str) -> bool:
    """A price for the job: a dollar amount in the thousands, or "your investment is ..."; not a limit of
    cover or what the customer paid before."""
    lowered = _NOT_THE_PRICE.sub(" ", _dollar_signs(text.lower()))
    return any(_PRICE.search(_before_money_back(sentence)) for sentence in SENTENCE_BREAK.split(lowered))


def _before_money_back(sentence: str) -> str:
    back = _MONEY_BACK.search(sentence)
    return sentence[: back.start()] if back and not _NETTED.search(sentence) else sentence


def mentions_money(text: str) -> bool:
    return bool(_MONEY.search(text.lower()))


# A customer turn that opens by repeating a price of thousands ("21,000. I was hoping for about half that.",
# "Hoo. Twenty-one thousand."): someone just heard one, whether or not the recogniser did (dev roofing-06
# kitchen heard the rep's "$21,400" as "in 2014"). Not a year in digits.
_ECHOED_PRICE = re.compile(
    r"^\W*((oh|hoo|whoa|wow|huh|hm|my|god|gosh|jeez|geez|yikes|boy|man)\W+){0,3}"
    rf"(\$?\d{{1,3}}(,\d{{3}})+|\$\d{{4,}}|(?!(19|20)\d\d\b)\d{{4,}}|"
    rf"{NUMBER_WORD}([- ]{NUMBER_WORD})? (thousand|grand))"
    rf"(?![\w,$-])(?!\s+({_UNITS}))"
    # A year said aloud ("Two thousand three. She's got the memory.", dev hvac-08) is no price.
    rf"(?! (and )?{NUMBER_WORD}\b(?![- ]hundred))"
)


def echoes_price(text: str) -> bool:
    return bool(_ECHOED_PRICE.search(text.lower()))


def _dollar_signs(text: str) -> str:
    # Whisper (tiny.en) often writes "$425" as "dollar 425" on room audio: "it's dollar 425 to start".
    return _SPOKEN_DOLLAR.sub("$", text)


def acknowledges(text: str) -> bool:
    """The reply takes the concern on ("I hear you", "It is, I won't pretend ...") rather than talking past it.
    The acknowledgement may open any clause of the first sentence: "It adds up, I get it." (dev pest-06)."""
    lowered = text.lower()
    first_sentence = SENTENCE_BREAK.split(lowered.strip(), maxsplit=1)[0]
    return bool(_ACKNOWLEDGE.search(lowered)) or any(
        _ACKNOWLEDGE.search(clause) for clause in _CLAUSE_SPLIT.split(first_sentence)[1:]
    )


def requests_explanation(text: str) -> bool:
    lowered = text.lower()
    return bool(_REQUESTS_EXPLANATION.search(lowered)) or (
        bool(_WHOLE_STORY.search(lowered)) and not _HOW_LONG.search(lowered)
    )


def moves_on(text: str) -> bool:
    """Opens by moving on rather than by responding: a discourse marker that starts something new ("So let's
    talk about what we'd put on", "And the panels themselves ...", "Let me check one more thing") or a
    question of the speaker's own ("Where's the inside unit?")."""
    lowered = text.lower()
    first_sentence = re.match(r"[^.?!]*[.?!]?", lowered)
    return bool(_MOVES_ON.search(lowered)) or bool(first_sentence and direct_questions(first_sentence.group(0)))


def defers_answer(text: str) -> bool:
    """A promise to answer later ("good question, I'll show you outside"), or the answer that keeps it."""
    return bool(_DEFERS_ANSWER.search(text.lower()))


def starts_with_answer(text: str) -> bool:
    """Opens like an answer: yes or no (in its first few words), a number, "probably", "I'm good, thanks"."""
    lowered = text.lower()
    return (
        bool(_ANSWER_START.search(lowered))
        or any(_SAYS_WHAT_IT_IS.search(clause) for clause in re.split(r"[.?!]", lowered, maxsplit=1)[0].split(","))
        or bool(_YES_NO.search(" ".join(lowered.split()[:8])))
    )


def agrees_next_step(text: str) -> bool:
    """A concrete next step: a booking or promised call with a day or time, or a signature. An offer ("I
    could have a crew out Thursday", "if you want") is not one yet, whether or not Whisper wrote its
    question mark."""
    lowered = text.lower()
    if _DONE_DEAL.search(lowered):
        return True
    return bool(_WHEN.search(lowered) and _COMMIT.search(lowered) and not _OFFER.search(lowered))


def winds_down(text: str) -> bool:
    """The visit being closed without commitment: a card, "call us whenever", "think it over"."""
    return bool(_WIND_DOWN.search(text.lower()))


def content_words(text: str) -> set[str]:
    """Roughly stemmed words that carry the topic ("gutters" → "gutter")."""
    out = set()
    for w in words(text):
        w = w.strip(".,!?'-")
        if len(w) < 4 or _STOPWORD.fullmatch(w) or not w.isalpha():
            continue
        for suffix in ("ing", "es", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 4:
                w = w[: -len(suffix)]
                break
        out.add(w)
    return out
