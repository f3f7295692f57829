"""The live coach (Path A): a fixed taxonomy of moments, detectors, and the nudge gate."""
