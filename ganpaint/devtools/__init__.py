"""Developer scripts, each ``python -m ganpaint.devtools.<name>``: ``drag_bench`` (a scripted
drag through the real window; also ``ganpaint drag-bench``), ``screenshots`` (the README's
pictures), ``startup_time`` (process start to first frame) and ``demo_bundle`` (a small
random-weight model bundle for tests and screenshots). They sit above the app and the
commands and are no part of either.
"""
