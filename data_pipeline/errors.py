"""The one exception type of the data pipeline."""


class DataError(ValueError):
    """Bad input data or arguments; the message is one line naming the file and line/byte offset where relevant."""
