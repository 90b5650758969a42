from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from revcast.core.views import healthz

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("revcast.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("revcast.web.urls")),
]
