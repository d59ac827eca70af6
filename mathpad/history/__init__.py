"""A local history of readings: what was drawn, what the model saw and said, what was copied.

`History` is the SQLite store (`database`); `export` writes readings out as files, the
corrected ones as MathWriting InkML for fine-tuning on one's own hand.
"""

from mathpad.history.database import History, Reading, history_path

__all__ = ["History", "Reading", "history_path"]
