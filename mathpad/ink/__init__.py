"""Ink: strokes, the undoable drawing, InkML files. Pure data: no Qt, no pixels."""
