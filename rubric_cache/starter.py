"""The starter rubric of each trade: what a good in-home visit covers, in order, and how each step is
scored. A tenant without a rubric of its own gets its trade's.

These ids are the contract between the corpus labels and the rubrics: a rubric step with the same
id is the same step. ``before_price`` marks steps a good rep covers before stating a price (the live
coach checks them); ``points`` are relative weights, normalised to sum to 1 in the rubric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rubric_cache.schema import RubricContent


@dataclass(frozen=True)
class TradeStep:
    id: str
    description: str
    before_price: bool = False
    name: str = ""
    examples: tuple[str, ...] = ()
    guidance: str = ""
    points: float = 1.0
    required: bool = True
    after: tuple[str, ...] = ()


_RAPPORT = TradeStep(
    "rapport_agenda",
    "greets, builds rapport, sets the agenda for the visit",
    name="Rapport and agenda",
    examples=("Thanks for having me. Here's how I'd like the next hour to go, and tell me if that works.",),
    guidance="Full marks: a warm start and an agenda the customer agrees to, including how long and what "
    "happens at the end. A miss: straight into the product, or no word on how the visit will run.",
    points=1,
)
_CLOSE = TradeStep(
    "close_ask",
    "asks for the decision",
    name="Ask for the decision",
    examples=(
        "Which of these would you like to go with?",
        "Is there anything stopping us from getting you on the schedule?",
    ),
    guidance="Full marks: a clear question asking for the decision after the price, then silence. A miss: "
    "ending with 'think it over' without ever asking.",
    points=2,
    after=("price_presentation",),
)


def _next_steps(what: str) -> TradeStep:
    return TradeStep(
        "next_steps",
        f"agrees a concrete next step: {what}",
        name="Concrete next step",
        examples=("So I'll pencil you in for Tuesday the 14th, and I'll email the paperwork tonight.",),
        guidance="Full marks: a dated next step both agree on (a booked install, a follow-up call at a set "
        "time). A miss: 'I'll follow up' with no date, or leaving with nothing agreed.",
        points=2,
    )


def _financing(what: str) -> TradeStep:
    return TradeStep(
        "financing_options",
        what,
        True,
        name="Financing options",
        examples=("Most folks spread this out; there's a 0% for 18 months plan or a low monthly payment.",),
        guidance="Full marks: payment options offered before or with the price, as a choice, not a rescue "
        "after an objection. A miss: financing mentioned only once the customer balks.",
        points=1,
    )


TRADES: dict[str, tuple[TradeStep, ...]] = {
    "hvac": (
        _RAPPORT,
        TradeStep(
            "discovery",
            "asks about comfort problems, the system's age and history, priorities, budget",
            name="Discovery",
            examples=("Which rooms are uncomfortable, and when?", "How old is the system, and what's been fixed?"),
            guidance="Full marks: open questions on comfort, the equipment's history, how long they'll stay and "
            "what matters most, with follow-ups. A miss: two closed questions and on to the pitch.",
            points=2,
        ),
        TradeStep(
            "home_inspection",
            "walks the home: equipment, ductwork, attic or basement",
            True,
            name="Home inspection",
            examples=("Mind if I take a look at the furnace and the ductwork in the basement?",),
            guidance="Full marks: sees the equipment, ducts and problem rooms before proposing anything. A miss: "
            "quoting from the kitchen table.",
            points=1.5,
        ),
        TradeStep(
            "load_calculation",
            "measures the home / explains sizing instead of matching the old unit",
            True,
            name="Load calculation",
            examples=("I'll measure the rooms so we size it to the house, not just match the old unit.",),
            guidance="Full marks: measures (or runs a Manual J) and explains why the size fits this house. A "
            "miss: 'same tonnage as before' or a size read off the old nameplate.",
            points=1.5,
        ),
        TradeStep(
            "present_options",
            "presents good / better / best options tied to what the customer said",
            name="Options tied to their needs",
            examples=("Since the upstairs bedrooms are the problem, the variable-speed one is what fixes that.",),
            guidance="Full marks: two or three options, each linked back to something the customer said. A "
            "miss: one product, or a spec sheet recited.",
            points=2,
            after=("discovery",),
        ),
        TradeStep(
            "warranty",
            "explains parts and labour warranty and the maintenance plan",
            True,
            name="Warranty and maintenance",
            examples=("You get ten years on parts and two on labour, and the maintenance plan keeps that valid.",),
            guidance="Full marks: parts, labour and what keeps the warranty valid, before the price. A miss: "
            "warranty left out, or raised only to rescue the sale.",
            points=1,
        ),
        _financing("offers financing or payment options"),
        TradeStep(
            "price_presentation",
            "states the investment for the chosen option",
            name="Price presentation",
            examples=("For the system we talked about, the investment is $11,400 installed.",),
            guidance="Full marks: one clear number for the option they leaned to, stated plainly, then a pause. "
            "A miss: a price before the need is built, or a number buried in caveats.",
            points=1,
            after=("present_options",),
        ),
        _CLOSE,
        _next_steps("install date, paperwork, follow-up"),
    ),
    "roofing": (
        _RAPPORT,
        TradeStep(
            "discovery",
            "asks about leaks, age of the roof, storm history, plans for the home",
            name="Discovery",
            examples=("When did you first notice the stain, and was there a storm around then?",),
            guidance="Full marks: leak history, the roof's age, recent storms and how long they plan to stay. A "
            "miss: straight up the ladder without asking.",
            points=2,
        ),
        TradeStep(
            "roof_inspection",
            "inspects the roof and attic, takes photos",
            True,
            name="Roof and attic inspection",
            examples=("I'll get up on the roof and into the attic and take photos of everything I find.",),
            guidance="Full marks: roof and attic inspected with photos. A miss: a quote from the driveway.",
            points=1.5,
        ),
        TradeStep(
            "damage_review",
            "shows the homeowner the photos and explains the damage",
            True,
            name="Damage review",
            examples=("See these dark spots? That's hail bruising; the granules are gone there.",),
            guidance="Full marks: walks the homeowner through the photos in plain words. A miss: 'you need a "
            "new roof' with no evidence shown.",
            points=1.5,
            after=("roof_inspection",),
        ),
        TradeStep(
            "insurance_check",
            "checks whether an insurance claim applies",
            name="Insurance check",
            examples=("With hail damage like this, have you talked to your insurance about a claim?",),
            guidance="Full marks: asks about the policy and explains the claim process honestly where damage is "
            "storm-related. A miss: ignoring a likely claim, or promising the insurer will pay.",
            points=1,
            required=False,
        ),
        TradeStep(
            "present_options",
            "presents material options (architectural shingle, metal, …)",
            name="Material options",
            examples=("You could go architectural shingle, or metal if you're staying twenty years.",),
            guidance="Full marks: options matched to their plans and budget, with trade-offs. A miss: one "
            "material presented as the only answer.",
            points=2,
        ),
        TradeStep(
            "warranty",
            "explains manufacturer and workmanship warranties",
            True,
            name="Warranties",
            examples=("The shingles carry a 50-year manufacturer warranty and our workmanship is covered for ten.",),
            guidance="Full marks: manufacturer and workmanship warranties distinguished, before the price. A "
            "miss: 'lifetime warranty' with no detail.",
            points=1,
        ),
        _financing("offers financing or payment options"),
        TradeStep(
            "price_presentation",
            "states the investment",
            name="Price presentation",
            examples=("For the architectural shingle with new underlayment, it's $18,900.",),
            guidance="Full marks: one clear number for the chosen option. A miss: a range, or a price before "
            "the damage review.",
            points=1,
            after=("present_options",),
        ),
        _CLOSE,
        _next_steps("install date, adjuster meeting, follow-up"),
    ),
    "solar": (
        _RAPPORT,
        TradeStep(
            "discovery",
            "asks why solar, how long they will stay, electric vehicles, goals",
            name="Discovery",
            examples=("What got you thinking about solar, and how long do you see yourselves in this house?",),
            guidance="Full marks: motive, time in the home, future loads (EV, heat pump) and goals. A miss: "
            "jumping to panel counts.",
            points=2,
        ),
        TradeStep(
            "utility_bill_review",
            "reviews 12 months of electric bills and usage",
            True,
            name="Utility bill review",
            examples=("Can we pull up the last twelve months of your electric bills?",),
            guidance="Full marks: a year of usage reviewed before sizing. A miss: sizing from one bill or a guess.",
            points=1.5,
        ),
        TradeStep(
            "roof_shade_assessment",
            "checks roof age, orientation and shading",
            True,
            name="Roof and shade assessment",
            examples=("The back faces south, but that oak shades it after two; let me check the roof's age too.",),
            guidance="Full marks: orientation, shading and the roof's remaining life checked. A miss: panels "
            "proposed on a roof that needs replacing soon.",
            points=1.5,
        ),
        TradeStep(
            "system_design",
            "proposes a system size and production estimate",
            name="System design",
            examples=("Based on your usage, a 7.2 kW system should cover about 95% of it.",),
            guidance="Full marks: size and expected production tied to their usage. A miss: a standard package.",
            points=2,
            after=("utility_bill_review",),
        ),
        TradeStep(
            "incentives",
            "explains the tax credit and local incentives honestly",
            True,
            name="Incentives, honestly",
            examples=("The federal credit is 30% of the cost, if you have the tax liability to use it.",),
            guidance="Full marks: the credit and local programmes with their conditions. A miss: 'free panels' "
            "or a credit promised without asking about tax liability.",
            points=1,
        ),
        _financing("compares cash, loan and lease"),
        TradeStep(
            "price_presentation",
            "states the price and the savings",
            name="Price and savings",
            examples=("The system is $21,600 before the credit, and it should save about $140 a month.",),
            guidance="Full marks: the price and the savings estimate with its assumptions. A miss: savings "
            "without a price, or the other way round.",
            points=1,
            after=("system_design",),
        ),
        TradeStep(
            "warranty",
            "explains panel, inverter and workmanship warranties",
            name="Warranties",
            examples=("Panels are warranted 25 years, the inverter 12, and our roof penetrations 10.",),
            guidance="Full marks: panel, inverter and workmanship warranties, including roof penetrations. A "
            "miss: one warranty number for everything.",
            points=1,
        ),
        _CLOSE,
        _next_steps("site survey, signing, follow-up"),
    ),
    "pest_control": (
        _RAPPORT,
        TradeStep(
            "discovery",
            "asks what they have seen, where, since when, pets and children",
            name="Discovery",
            examples=("Where have you been seeing them, and since when? Any pets or little ones at home?",),
            guidance="Full marks: what, where, since when, and who lives there (pets, children). A miss: "
            "straight to a treatment.",
            points=2,
        ),
        TradeStep(
            "property_inspection",
            "inspects inside and outside: entry points, conducive conditions",
            True,
            name="Property inspection",
            examples=("Let me walk around outside and check the crawl space for where they're getting in.",),
            guidance="Full marks: inside and outside, entry points and conducive conditions found. A miss: a "
            "quote without looking.",
            points=1.5,
        ),
        TradeStep(
            "identify_cause",
            "names the pest and explains why it is there",
            True,
            name="Identify the cause",
            examples=("These are odorous house ants; they're coming in along that wet sill.",),
            guidance="Full marks: the pest named and the reason it is there explained. A miss: a generic spray.",
            points=1.5,
            after=("property_inspection",),
        ),
        TradeStep(
            "treatment_plan",
            "explains the treatment plan and safety for pets and children",
            name="Treatment plan and safety",
            examples=("We treat the perimeter and the sill; it's dry in an hour, so keep the dog in until then.",),
            guidance="Full marks: what will be done, where, and what it means for pets and children. A miss: "
            "'we'll spray' with no safety word.",
            points=2,
        ),
        TradeStep(
            "contract_terms",
            "explains service frequency and contract length",
            True,
            name="Service frequency and contract",
            examples=("It's a quarterly service on a twelve-month agreement; you can cancel with 30 days' notice.",),
            guidance="Full marks: frequency, length and how to cancel, before the price. A miss: a contract "
            "length first heard at signing.",
            points=1,
        ),
        TradeStep(
            "guarantee",
            "explains the re-service guarantee",
            True,
            name="Re-service guarantee",
            examples=("If they come back between visits, we come back out for free.",),
            guidance="Full marks: what the guarantee covers and how to call it in. A miss: none mentioned.",
            points=1,
        ),
        TradeStep(
            "price_presentation",
            "states the initial and recurring price",
            name="Price presentation",
            examples=("The first service is $199, then $49 a quarter.",),
            guidance="Full marks: the initial and the recurring price, both. A miss: only the monthly figure.",
            points=1,
            after=("treatment_plan",),
        ),
        _CLOSE,
        _next_steps("first service date, follow-up"),
    ),
}

TRADE_TITLES = {"hvac": "HVAC", "roofing": "Roofing", "solar": "Solar", "pest_control": "Pest control"}


def starter_rubric(trade: str) -> RubricContent:
    """The trade's starter rubric as a validated rubric (weights from the steps' points)."""
    # pydantic only here: the step lists above are read by the CLI, which must start without it.
    from rubric_cache.schema import RubricContent, normalised_weights

    steps = [
        {
            "id": s.id,
            "name": s.name or s.id.replace("_", " ").capitalize(),
            "description": s.description,
            "examples": s.examples,
            "required": s.required,
            "before_price": s.before_price,
            "after": s.after,
            "weight": s.points,
            "guidance": s.guidance,
        }
        for s in TRADES[trade]
    ]
    return RubricContent.model_validate(
        {"title": f"{TRADE_TITLES[trade]} in-home visit (starter)", "trade": trade, "steps": normalised_weights(steps)}
    )


def step_ids(trade: str) -> list[str]:
    return [s.id for s in TRADES[trade]]


def before_price_steps(trade: str) -> list[str]:
    return [s.id for s in TRADES[trade] if s.before_price]
