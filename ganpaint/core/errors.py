"""The project's exception types: every user-facing failure is one of these, with a message
that names the problem (the file, the key, the argument)."""


class GanpaintError(Exception):
    """Base class of every error the project reports to a user."""


class CheckpointError(GanpaintError):
    """A model file could not be opened: unsafe, malformed, or not a generator."""


class ProjectFileError(GanpaintError):
    """A ``.ganpaint`` project file is malformed, foreign, or from a newer version."""


class BundleError(GanpaintError):
    """A model bundle folder is incomplete, inconsistent, or fails its hash check."""


class DeviceError(GanpaintError, ValueError):
    """A device was asked for that does not exist here (unknown name, no CUDA, no MPS)."""


class PictureError(GanpaintError):
    """A picture file could not be used: missing, not an image, truncated, or too large."""


class InversionCancelled(GanpaintError):
    """A picture's inversion was cancelled by the user before it finished; nothing was kept."""
