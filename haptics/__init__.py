"""The watch link: delivers live-coach nudges to the rep's wrist (built in a later issue)."""
