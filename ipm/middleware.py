from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page requires login (Django 5.1's middleware), except views marked
    `login_not_required`. The API and FHIR authenticate themselves (token or session) and
    answer 401 in JSON instead of redirecting to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(("/api/", "/fhir/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
