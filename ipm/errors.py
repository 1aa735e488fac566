"""One exception hierarchy for business rules; the API maps it to one error shape
(ipm.api.exception_handler) and pages show the message."""


class DomainError(Exception):
    status_code = 400
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, errors: dict | None = None,
                 detail: dict | None = None):
        self.message = message or self.default_message
        self.errors = errors or {}
        # Structured facts a client acts on (e.g. {"caseload": 12}); the API's `detail`
        # repeats the message when there are none.
        self.detail = detail
        super().__init__(self.message)


class InvalidInput(DomainError):
    status_code = 400
    default_message = "Invalid input."


class Conflict(DomainError):
    """Invalid state transition, duplicate, or a concurrent change that lost the race."""

    status_code = 409
    default_message = "Conflict with the current state."


class NotFound(DomainError):
    status_code = 404
    default_message = "Not found."


class Gone(DomainError):
    status_code = 410
    default_message = "No longer available."
