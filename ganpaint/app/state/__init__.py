"""The app's state and its decisions, in plain Python (no Qt): unit-testable headless.

The open scene (:class:`~ganpaint.app.state.session.DocumentSession`), which model is open
or asked for (:class:`~ganpaint.app.state.model_controller.ModelController`), the concepts a
brush can paint (:class:`~ganpaint.app.state.concept_library.ConceptLibrary`), the brush
(:class:`~ganpaint.app.state.tool.BrushSettings`) and the New Concept draft. State objects tell
listeners about changes with plain callbacks, as :class:`~ganpaint.engine.document.EditDocument`
does; the Qt views in :mod:`ganpaint.app.views` listen and draw. See docs/ARCHITECTURE.md.
"""
