"""The one exception type a user's mistake raises; scripts print it as a one-line error."""


class UserError(Exception):
    """Bad input from the user (a flag, a path, a file): reported as `error: <message>`, exit code 2."""
