"""The evaluation corpus: scripted home-services calls, their labels, and the audio renderer."""
