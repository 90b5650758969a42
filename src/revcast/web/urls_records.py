"""Record pages: opportunities, accounts and contacts."""

from django.urls import path

from revcast.web import accounts, opportunities

urlpatterns = [
    path("opportunities/", opportunities.opportunity_list, name="opportunity-list"),
    path("opportunities/new/", opportunities.opportunity_create, name="opportunity-create"),
    path("opportunities/<int:pk>/", opportunities.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", opportunities.opportunity_edit, name="opportunity-edit"),
    path("opportunities/<int:pk>/stage/", opportunities.opportunity_stage, name="opportunity-stage"),
    path("opportunities/<int:pk>/activity/", opportunities.opportunity_activity, name="opportunity-activity"),
    path("accounts/", accounts.account_list, name="account-list"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account-detail"),
    path("contacts/", accounts.contact_list, name="contact-list"),
    path("contacts/<int:pk>/", accounts.contact_detail, name="contact-detail"),
]
