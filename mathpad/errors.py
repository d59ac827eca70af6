"""User-facing errors.

Every error a user can cause (a bad file, a missing model, a bad option) is raised as a
`MathpadError` whose message says what went wrong and what to do. The CLI prints it as one
line and the window shows it in a dialog; anything else is a bug and keeps its traceback.
"""


class MathpadError(Exception):
    """An error the user can fix; the message names the file and the fix."""


class InputError(MathpadError):
    """An image, ink file or option that cannot be used as given."""


class ModelError(MathpadError):
    """A model folder, file or download that cannot be used."""


class ModelNotDownloadedError(ModelError):
    """The model is not in the local cache and downloading was not allowed (offline)."""


class Cancelled(MathpadError):
    """The user stopped the work (a download, a recognition) before it finished."""
