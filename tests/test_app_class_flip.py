"""The search for a class-turning stroke (``ganpaint.devtools.class_flip``): the strokes it
tries, and a clear error on a model without a classifier."""

from __future__ import annotations

import pytest

from ganpaint.devtools.class_flip import SIZES, find_flips, strokes


def test_strokes_cross_the_upper_middle():
    tried = strokes(128)
    assert len(tried) == 2 * 3 and {s for s, _ in tried} == set(SIZES)
    assert (0.13, [(40.0, 55.04), (64.0, 55.04), (88.0, 55.04)]) in tried  # the GUI test's


def test_a_model_without_a_classifier_is_refused(qapp, app_settings, demo_bundle):
    with pytest.raises(RuntimeError, match="no scene classifier"):
        find_flips(demo_bundle, "house", "church", "dome", None, 0, 1, log=lambda _: None)
