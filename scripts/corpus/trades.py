"""The sales steps of each trade, as the corpus labels them: the starter rubrics' steps (``rubric_cache``)."""

from rubric_cache.starter import TRADES, TradeStep, before_price_steps, step_ids

__all__ = ["TRADES", "TradeStep", "before_price_steps", "step_ids"]
