"""DRF authentication classes (kept apart from views: DRF imports them at settings time)."""

from django.utils import timezone
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
