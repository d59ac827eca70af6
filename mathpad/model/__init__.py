"""The model: finding its files, and running it on onnxruntime.

onnxruntime (1.3x on Linux) records a device id and queues telemetry for upload under
`~/.cache/Microsoft` as soon as it is imported; mathpad promises everything stays on the
machine, so this is switched off before any module here imports it. A user's own setting of
the variable wins.
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
