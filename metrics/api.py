from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import roles
from ipm.api import ErrorSerializer
from ipm.errors import InvalidInput

from .filters import scope_from_params
from .selectors import program_metrics
from .serializers import ProgramMetricsOutputSerializer


class ProgramMetricsApi(APIView):
    """Program metrics for a date range, optional service and optional site (admins only;
    aggregates)."""

    permission_classes = [roles.HasRole]
    permission = "metrics.view"

    @extend_schema(
        operation_id="metrics_program",
        summary="Program metrics (docs/product.md §3.6)",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD); "
                             "default: 30 days before `to`."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive "
                             "(YYYY-MM-DD); default: yesterday."),
            OpenApiParameter("service", OpenApiTypes.STR, description="Service code; "
                             "default: the whole program."),
            OpenApiParameter("site", OpenApiTypes.STR, description="Site id or code (as "
                             "`/api/sites/` lists them): patient measures count that site's "
                             "patients, group measures its series, appointment measures its "
                             "appointments; default: every site."),
        ],
        responses={200: ProgramMetricsOutputSerializer, 400: ErrorSerializer,
                   401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        params = request.query_params
        empty = [name for name in ("from", "to", "service", "site")
                 if name in params and not params[name].strip()]
        if empty:
            # The dashboard's form sends empty fields for "default"; API callers leave the
            # parameter out instead, so an empty one is a mistake worth naming.
            raise InvalidInput(f"Empty parameter: {', '.join(empty)}.",
                               {name: ["Give a value, or leave the parameter out."]
                                for name in empty})
        scope = scope_from_params(params)
        return Response(ProgramMetricsOutputSerializer(program_metrics(scope)).data)
