"""Editing the user's own pictures: an encoder trained on the generator's samples, the
per-picture inversion (residual optimisation, then an image-specific adaptation of the later
layers) that makes a picture paintable. See docs/ARCHITECTURE.md for where it sits."""
