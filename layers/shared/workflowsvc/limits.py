"""Limits of what a request may ask for, documented in the README; each is a 400 naming the field."""

MAX_NAME_LENGTH = 128
MAX_TASKS = 50
MAX_RETRY_COUNT = 10
MAX_RETRY_DELAY_SECONDS = 3600
MAX_TASK_TIMEOUT_SECONDS = 100  # the worker function's timeout (150 s) leaves room to record
MAX_RUN_TIMEOUT_SECONDS = 30 * 24 * 3600
MAX_BODY_BYTES = 256 * 1024
MAX_INPUT_DEPTH = 10
MAX_INPUT_BYTES = 128 * 1024
