"""The app's Qt side: the main window composed of panels and command objects, the canvas,
the dialogs, the render worker thread, the action table, the theme and the preferences
(QSettings). Views read and write the Qt-free state in :mod:`ganpaint.app.state` and listen
to it. See docs/ARCHITECTURE.md.
"""
