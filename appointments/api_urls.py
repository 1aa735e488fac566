from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("appointments", api.AppointmentViewSet, basename="appointments")

urlpatterns = router.urls
