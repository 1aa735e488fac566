from rest_framework.routers import SimpleRouter

from .api import PatientViewSet

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="api-patients")
urlpatterns = router.urls
