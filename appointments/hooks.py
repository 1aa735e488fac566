"""What this app plugs into the apps below it (called from AppointmentsConfig.ready())."""


def register() -> None:
    pass
