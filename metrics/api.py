from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import roles
from ipm.api import ErrorSerializer

from .filters import scope_from_params
from .selectors import program_metrics
from .serializers import ProgramMetricsOutputSerializer


class ProgramMetricsApi(APIView):
    """Program metrics for a date range and optional service (admins only; aggregates)."""

    permission_classes = [roles.HasRole]
    allowed_roles = (roles.ADMIN,)

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
        ],
        responses={200: ProgramMetricsOutputSerializer, 400: ErrorSerializer,
                   401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        scope = scope_from_params(request.query_params)
        return Response(ProgramMetricsOutputSerializer(program_metrics(scope)).data)
