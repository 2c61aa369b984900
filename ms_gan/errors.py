"""The one exception type a user's mistake raises; scripts print it as a one-line error."""


def one_line(error: BaseException, limit: int = 200) -> str:
    """An exception's text on one line, at most LIMIT characters (MindSpore and download errors span many)."""
    return " ".join(str(error).split())[:limit] or type(error).__name__


class UserError(Exception):
    """Bad input from the user (a flag, a path, a file): reported as `error: <message>`, exit code 2."""
