"""DRF authentication classes (kept apart from views: DRF imports them at settings time)."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class ApiTokenAuthentication(KnoxTokenAuthentication):
    """knox's authentication, minus its sweep of the user's other expired tokens on every
    request (one query per call): expired tokens are refused here and deleted when the user
    next obtains a token (ipm.accounts.api_token_create)."""

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: `Authorization: Token <token>` (the scheme name clients already know)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization",
                                                   token_prefix="Token")  # nosec B106 - the header's scheme word, not a secret
