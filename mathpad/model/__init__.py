"""The model: finding its files, and running it on onnxruntime.

mathpad promises that everything stays on the machine, so the libraries' reporting is
switched off before any module here imports them (a user's own setting wins):
onnxruntime (1.3x on Linux) records a device id and queues telemetry for upload under
`~/.cache/Microsoft` as soon as it is imported; huggingface_hub adds machine details to
its requests and fetches a registry from the hub (seconds of waiting when the hub does
not answer) unless its telemetry is off.
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
