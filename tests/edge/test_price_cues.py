"""``states_price``: a job's price as Whisper writes it (digits, often without the dollar sign) or as people say it."""

from __future__ import annotations

import pytest

from edge.coach.cues import states_price


@pytest.mark.parametrize(
    "text",
    [
        "That comes to 9,850 installed.",
        "So the whole system comes to $14,200 installed.",
        "The single stage is 8,900.",
        "It comes to fourteen thousand two hundred.",
        "It's dollar 425 to start.",
    ],
)
def test_a_price_is_read(text: str) -> None:
    assert states_price(text)


@pytest.mark.parametrize(
    "text",
    [
        "That's 4,000 installs since 2011.",
        "That's 11,000 kilowatt hours a year.",
        "We repair it, up to $100,000.",
        "So you paid about $1,300 for power last year.",
    ],
)
def test_what_is_no_price_is_not(text: str) -> None:
    assert not states_price(text)
