import numpy as np

from models.loaders import load_text_embedder
from models.speaker import cosine
from models.store import ModelStore


def test_sentence_embeddings_put_objections_near_each_other(store: ModelStore) -> None:
    embedder = load_text_embedder(store)
    vectors = embedder.embed(
        [
            "That price is way more than we budgeted for.",
            "This quote is too expensive for us.",
            "The thermostat is in the hallway by the stairs.",
        ]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    assert embedder.embed([]).shape == (0, 384)
