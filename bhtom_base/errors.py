"""Errors a broker update can end with; each message is shown to the user as is."""


class BrokerError(Exception):
    """An update of one (target, source) pair failed; the message says why."""


class NotConfigured(BrokerError):
    """The source needs credentials or settings that this site does not have."""


class NoSurveyName(BrokerError):
    """The target has no name in this survey and none could be found."""


class FetchError(BrokerError):
    """The survey could not be reached or answered with an error."""


class ResponseTooLarge(FetchError):
    """The survey sent more bytes than the configured maximum."""


class CircuitOpen(FetchError):
    """The survey's host failed repeatedly and is skipped for a while."""


class ParseError(BrokerError):
    """The survey's response is not in the format the parser knows."""


class WorkerGone(BrokerError):
    """The worker running an update stopped (killed, machine lost) before recording a result."""
