from django.urls import path

from . import api

urlpatterns = [
    path("services/", api.ServiceListApi.as_view(), name="api-services"),
    path("referrals/", api.ReferralListCreateApi.as_view(), name="api-referrals"),
    path("referrals/<int:pk>/", api.ReferralDetailApi.as_view(), name="api-referral"),
    path("referrals/<int:pk>/transition/", api.ReferralTransitionApi.as_view(),
         name="api-referral-transition"),
    path("referrals/<int:pk>/assign/", api.ReferralAssignApi.as_view(),
         name="api-referral-assign"),
]
