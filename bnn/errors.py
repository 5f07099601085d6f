"""One exception type for every user-facing error: its message is one line naming the key and the fix."""


class BnnError(Exception):
    """A bad input (config key, file, checkpoint) that the user can fix; printed as one line, no traceback."""
