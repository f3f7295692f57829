"""The pattern vocabulary and the profiles' byte formats."""

from __future__ import annotations

import pytest

from edge.coach.taxonomy import TAXONOMY
from haptics.errors import WatchUnsupported
from haptics.patterns import VOCABULARY, UnknownPattern, pattern
from haptics.profiles import (
    ALERT_NOTIFICATION_SERVICE,
    IMMEDIATE_ALERT_SERVICE,
    MAX_TEXT_BYTES,
    RIDEALONG_SERVICE,
    Profile,
    choose,
    decode_ridealong,
    encode,
)


def test_every_moment_type_has_its_own_pattern() -> None:
    names = [d.pattern for d in TAXONOMY.values()]
    assert len(set(names)) == len(names), "two moment types share a pattern"
    for name in names:
        assert name in VOCABULARY
    shapes = [p.pulses_ms for p in VOCABULARY.values()]
    assert len(set(shapes)) == len(shapes), "two patterns feel the same on the wrist"
    texts = [p.text for p in VOCABULARY.values()]
    assert len(set(texts)) == len(texts)


def test_patterns_are_short_and_fit_the_simple_profiles() -> None:
    for p in VOCABULARY.values():
        assert p.duration_ms <= 1300, p.name
        assert p.alert_level in (1, 2)
        assert len(p.text.encode()) <= MAX_TEXT_BYTES and p.text.isascii()


def test_ridealong_payload_round_trips() -> None:
    p = pattern("acknowledge")
    data = encode(Profile.RIDEALONG, p)
    assert data[:3] == bytes([1, 2, 3])  # version 1, level 2, three pulses
    assert decode_ridealong(data) == (2, p.pulses_ms, "PRICE CONCERN")


def test_standard_profiles_bytes() -> None:
    p = pattern("answer")
    assert encode(Profile.IMMEDIATE_ALERT, p) == b"\x02"
    assert encode(Profile.ALERT_NOTIFICATION, p) == b"\x00\x01ANSWER THEM"


def test_profile_choice_prefers_the_richest_service() -> None:
    assert choose([IMMEDIATE_ALERT_SERVICE, RIDEALONG_SERVICE]).profile == Profile.RIDEALONG
    assert choose([IMMEDIATE_ALERT_SERVICE.upper(), ALERT_NOTIFICATION_SERVICE]).profile == Profile.ALERT_NOTIFICATION
    assert choose([IMMEDIATE_ALERT_SERVICE, RIDEALONG_SERVICE], Profile.IMMEDIATE_ALERT).profile == (
        Profile.IMMEDIATE_ALERT
    )
    with pytest.raises(WatchUnsupported, match="none of the services"):
        choose(["0000180d-0000-1000-8000-00805f9b34fb"])  # a heart-rate strap


def test_unknown_pattern_names_the_known_ones() -> None:
    with pytest.raises(UnknownPattern, match="ask_for_close"):
        pattern("nope")
