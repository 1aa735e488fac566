from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The top, composing layer: pages and services that combine several apps (the home
    page, the guided intake, the patient chart) and the demo and scale data."""

    name = "clinic"
