"""The wrist vocabulary: one short, distinct pattern per coaching moment, learnable in a day.

A pattern is a few pulses (vibrate ms, then pause ms); watches that cannot play pulses get the
nearest thing their profile allows (``profiles``): an alert level (Immediate Alert has only two),
or an alert with a short text (Alert Notification shows up to 18 bytes). Pulses are kept under
about 1.2 s in all so the rep has the meaning before the conversation moves on.
"""

from __future__ import annotations

from dataclasses import dataclass

SHORT_MS = 90
LONG_MS = 350
GAP_MS = 120


@dataclass(frozen=True)
class HapticPattern:
    name: str
    pulses_ms: tuple[tuple[int, int], ...]
    """(vibrate, then pause) pairs, milliseconds; the last pause is ignored by most watches."""
    alert_level: int
    """Immediate Alert level for simple watches: 1 mild, 2 high (act now)."""
    text: str
    """Alert Notification text (ASCII, at most 18 bytes)."""
    meaning: str
    """What the rep should do when they feel it."""

    @property
    def duration_ms(self) -> int:
        return sum(on + off for on, off in self.pulses_ms[:-1]) + self.pulses_ms[-1][0]


def _pulses(shape: str) -> tuple[tuple[int, int], ...]:
    """ "s" short, "l" long: "sl" is short-gap-long."""
    return tuple((SHORT_MS if c == "s" else LONG_MS, GAP_MS) for c in shape)


VOCABULARY: dict[str, HapticPattern] = {
    p.name: p
    for p in (
        HapticPattern("pause_and_ask", _pulses("ll"), 1, "ASK A QUESTION", "you have been talking a while: ask"),
        HapticPattern("acknowledge", _pulses("ssl"), 2, "PRICE CONCERN", "they balked at the price: acknowledge it"),
        HapticPattern("answer", _pulses("sl"), 2, "ANSWER THEM", "they asked something you have not answered"),
        HapticPattern("step_back", _pulses("lss"), 1, "STEP SKIPPED", "a step before price was skipped: go back"),
        HapticPattern("listen", _pulses("l"), 1, "LET THEM TALK", "you are doing most of the talking"),
        HapticPattern("let_them_finish", _pulses("sss"), 1, "LET THEM FINISH", "you keep cutting them off"),
        HapticPattern("decision_maker", _pulses("lls"), 2, "WHO DECIDES?", "someone else decides: find out who"),
        HapticPattern("competitor", _pulses("ss"), 1, "COMPETITOR", "a competitor came up: ask about them"),
        HapticPattern("ask_for_close", _pulses("sls"), 2, "ASK FOR IT", "a buying signal: ask for the close"),
        HapticPattern("next_step", _pulses("ls"), 2, "NEXT STEP?", "winding down with no next step agreed"),
        HapticPattern("test", _pulses("slsl"), 1, "RIDEALONG TEST", "a test buzz from `ridealong watch test`"),
    )
}


class UnknownPattern(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no haptic pattern named {name!r}; known: {', '.join(sorted(VOCABULARY))}")


def pattern(name: str) -> HapticPattern:
    try:
        return VOCABULARY[name]
    except KeyError:
        raise UnknownPattern(name) from None
