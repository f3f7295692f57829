"""The starter rubric of each trade: its sales steps, in order. A tenant without a rubric of its own
gets its trade's (the live coach's default until per-tenant rubrics are cached).

These ids are the contract between the corpus labels and the rubrics: a rubric step with the same
id is the same step. ``before_price`` marks steps a good rep covers before stating a price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TradeStep:
    id: str
    description: str
    before_price: bool = False


TRADES: dict[str, tuple[TradeStep, ...]] = {
    "hvac": (
        TradeStep("rapport_agenda", "greets, builds rapport, sets the agenda for the visit"),
        TradeStep("discovery", "asks about comfort problems, the system's age and history, priorities, budget"),
        TradeStep("home_inspection", "walks the home: equipment, ductwork, attic or basement", True),
        TradeStep("load_calculation", "measures the home / explains sizing instead of matching the old unit", True),
        TradeStep("present_options", "presents good / better / best options tied to what the customer said"),
        TradeStep("warranty", "explains parts and labour warranty and the maintenance plan", True),
        TradeStep("financing_options", "offers financing or payment options", True),
        TradeStep("price_presentation", "states the investment for the chosen option"),
        TradeStep("close_ask", "asks for the decision"),
        TradeStep("next_steps", "agrees a concrete next step: install date, paperwork, follow-up"),
    ),
    "roofing": (
        TradeStep("rapport_agenda", "greets, builds rapport, sets the agenda for the visit"),
        TradeStep("discovery", "asks about leaks, age of the roof, storm history, plans for the home"),
        TradeStep("roof_inspection", "inspects the roof and attic, takes photos", True),
        TradeStep("damage_review", "shows the homeowner the photos and explains the damage", True),
        TradeStep("insurance_check", "checks whether an insurance claim applies"),
        TradeStep("present_options", "presents material options (architectural shingle, metal, …)"),
        TradeStep("warranty", "explains manufacturer and workmanship warranties", True),
        TradeStep("financing_options", "offers financing or payment options", True),
        TradeStep("price_presentation", "states the investment"),
        TradeStep("close_ask", "asks for the decision"),
        TradeStep("next_steps", "agrees a concrete next step: install date, adjuster meeting, follow-up"),
    ),
    "solar": (
        TradeStep("rapport_agenda", "greets, builds rapport, sets the agenda for the visit"),
        TradeStep("discovery", "asks why solar, how long they will stay, electric vehicles, goals"),
        TradeStep("utility_bill_review", "reviews 12 months of electric bills and usage", True),
        TradeStep("roof_shade_assessment", "checks roof age, orientation and shading", True),
        TradeStep("system_design", "proposes a system size and production estimate"),
        TradeStep("incentives", "explains the tax credit and local incentives honestly", True),
        TradeStep("financing_options", "compares cash, loan and lease", True),
        TradeStep("price_presentation", "states the price and the savings"),
        TradeStep("warranty", "explains panel, inverter and workmanship warranties"),
        TradeStep("close_ask", "asks for the decision"),
        TradeStep("next_steps", "agrees a concrete next step: site survey, signing, follow-up"),
    ),
    "pest_control": (
        TradeStep("rapport_agenda", "greets, builds rapport, sets the agenda for the visit"),
        TradeStep("discovery", "asks what they have seen, where, since when, pets and children"),
        TradeStep("property_inspection", "inspects inside and outside: entry points, conducive conditions", True),
        TradeStep("identify_cause", "names the pest and explains why it is there", True),
        TradeStep("treatment_plan", "explains the treatment plan and safety for pets and children"),
        TradeStep("contract_terms", "explains service frequency and contract length", True),
        TradeStep("guarantee", "explains the re-service guarantee", True),
        TradeStep("price_presentation", "states the initial and recurring price"),
        TradeStep("close_ask", "asks for the decision"),
        TradeStep("next_steps", "agrees a concrete next step: first service date, follow-up"),
    ),
}


def step_ids(trade: str) -> list[str]:
    return [s.id for s in TRADES[trade]]


def before_price_steps(trade: str) -> list[str]:
    return [s.id for s in TRADES[trade] if s.before_price]
