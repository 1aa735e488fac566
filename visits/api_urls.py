from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("group-series", api.GroupSeriesViewSet, basename="group-series")
router.register("group-sessions", api.GroupSessionViewSet, basename="group-sessions")

urlpatterns = router.urls
