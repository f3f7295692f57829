"""The semantic stage's cue phrases: the indirect ways customers say a moment, and the near misses they must leave.

Cue only (no embedder): a cue alone scores 0.5, which proposes the candidate (the LLM confirms deferrals
and competitor mentions; a buying signal fires from 0.45).
"""

from __future__ import annotations

import pytest

from edge.coach.semantic import SemanticStage
from edge.coach.taxonomy import MomentType

COMPETITOR, DEFERRAL, BUYING, PRICE = (
    MomentType.COMPETITOR_MENTIONED,
    MomentType.DECISION_MAKER_OBJECTION,
    MomentType.BUYING_SIGNAL,
    MomentType.PRICE_OBJECTION_UNADDRESSED,
)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (COMPETITOR, "A fella from Brightline was out in April. Had it about the same."),
        (COMPETITOR, "The outfit that came by in the spring had it at nineteen."),
        (COMPETITOR, "Their man came out Monday and wrote a number on his card."),
        (COMPETITOR, "Some company called Apex, I think, off a website."),
        (COMPETITOR, "Their manager phoned and gave us a price over the phone."),
        (COMPETITOR, "My nephew could put one in on a weekend for a lot less than you would."),
        (DEFERRAL, "The house is in both our names, so he'd have to see it before I sign."),
        (DEFERRAL, "We won't do anything this size without Kevin looking it over."),
        (DEFERRAL, "Our daughter does all our money things, she's in Denver."),
        (BUYING, "If we did the bigger one, who handles the permit?"),
        (BUYING, "I'd have to clear out the garage before your crew comes, right?"),
        (BUYING, "Your guys would have to come through the side gate, wouldn't they?"),
        # As room audio hears them: a contraction dropped, a plural heard singular, a trailing "first" lost.
        (DEFERRAL, "She pays the bills and she have to look at all this before I sign anything."),
        (DEFERRAL, "But my daughter handles my money since Walter passed."),
        (DEFERRAL, "Yeah, look, I got to talk to Angela."),
        (BUYING, "I'd have to get Tyler to move the china cabinet before your man come."),
        (COMPETITOR, "He could put one unit in on a Saturday for a lot less than a company would charge."),
        (PRICE, "Honey, I don't know how we'd ever come up with that on Walt's pension."),
        (PRICE, "It's not like we have that just sitting around."),
        (DEFERRAL, "So I can't sign anything without him, and he's gonna have a fit."),
        (DEFERRAL, "I want to. But I can't do this without Jake."),
        (DEFERRAL, "The settlement says anything over a thousand dollars, Rich has to agree to it."),
        (DEFERRAL, "Anything that's a contract, a whole year, she's gotta sign off on it."),
        (DEFERRAL, "A whole year. She's got a sign off on it."),  # as Whisper heard it
        (COMPETITOR, "We had a guy from SunSpark out here two weeks ago. He's got us at twenty-four thousand."),
        (COMPETITOR, "A guy knocked on the door the day after the hail, from Front Range Storm Pros."),
        (COMPETITOR, "So I thought, well, I'd better get a second opinion."),
        (DEFERRAL, "I can't sign anything till the HOA's architectural committee approves the color."),
        (DEFERRAL, "But here's the thing, I can't sign anything to the HOA's architectural committee approved."),
        (BUYING, "And if we do the class four, can you do it before the twentieth?"),
        (BUYING, "Okay, so could your guy come before Saturday?"),
        (BUYING, "Could you guys get it done by Christmas?"),
        (PRICE, "Whoa. Nine-six? For an air conditioner? I was thinking, like, five. Maybe six, tops."),
        (PRICE, "For an air conditioner, I was thinking like 5 maybe 6 cups."),  # as Whisper heard it
        (PRICE, "Honestly we were hoping for about half that."),
        (PRICE, "Hm, that's pretty steep for what it is."),
        (BUYING, "Can you get it in before Easter? The grandkids come for the whole week."),
        (BUYING, "What would we have to do to get this in before the rates go up in January?"),
        (COMPETITOR, "We've got another fella coming Thursday, from Gulf Coast Termite. So we're getting two looks."),
        # As Whisper heard them, the company's name and the quote lost.
        (COMPETITOR, "Oh and just so you know, Art2Care came out Thursday and gave us a hug"),
        (COMPETITOR, "further from Caslow was out in the fall."),
        (COMPETITOR, "I've called around before I drove up."),
        (PRICE, "Okay, wow, that's no, that's way past what I had in my head."),
        (PRICE, "Oof. Okay. That's, uh... that's more than I paid for my truck."),
        (PRICE, "Yeah, no. Not if that's coming out of my pocket."),
        (COMPETITOR, "We had Brightwater Heating out here on Friday. He wrote a number on the back of his card."),
        (COMPETITOR, "Their tech came over Saturday. He said he'd do the whole yard for six hundred."),
        (COMPETITOR, "A fella knocked after the storm and said he'd cover our deductible."),
        (COMPETITOR, "The lady at the booth told us no money down, and it'd pay for itself."),
    ],
)
def test_an_indirect_phrasing_is_cued(moment: MomentType, text: str) -> None:
    assert SemanticStage(None).score(text)[moment].cue


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (COMPETITOR, "The guy from the gas company came out to check the meter."),
        (COMPETITOR, "We had a guy out a few years ago for the furnace."),
        (COMPETITOR, "That's less than I thought it would be."),
        (DEFERRAL, "The inspector would have to see the attic first."),
        (DEFERRAL, "My husband thinks the roof has a few years left."),
        (BUYING, "If we did it ourselves, what would that cost?"),
        (BUYING, "If we did this ourselves, could we save much?"),
        (BUYING, "Do your guys wear masks when they spray?"),
        (DEFERRAL, "I got to talk to Angela about the dog before you go out back."),
        (PRICE, "Let me come up with a plan for the side yard."),
        (DEFERRAL, "We can't do it without a permit, can we?"),
        (DEFERRAL, "I can't do this without financing, honestly."),
        (COMPETITOR, "I called 'em, and the fella came out with his little meter and red-tagged it."),
        (DEFERRAL, "I can't sign anything until I've read the whole contract."),
        (BUYING, "Could you come back before dinner? I want to show my husband the attic."),
        (BUYING, "Can you do it without tearing up the driveway?"),
        (PRICE, "I was thinking about the attic, actually, is that insulated?"),
        (PRICE, "We were hoping to get it done before the baby comes."),
        (PRICE, "Which I hate. Her knee's bad and those stairs are steep as anything."),
        (PRICE, "It's a pretty steep roof, so we'll harness up."),
        (BUYING, "Can you be out before I leave for work? The dog gets anxious."),
        (COMPETITOR, "Another guy is coming to read the gas meter on Thursday."),
        (COMPETITOR, "Mr. Perlman next door came over last summer to complain."),
        (COMPETITOR, "My brother-in-law was out here last week helping with the deck."),
        (PRICE, "Is the permit coming out of my pocket too?"),
        (PRICE, "Like are we talking Desert Guard money or a lot more than that?"),
        (PRICE, "It's more than I expected, the attic, I mean, all that insulation."),
    ],
)
def test_a_near_miss_is_not_cued(moment: MomentType, text: str) -> None:
    assert not SemanticStage(None).score(text)[moment].cue
