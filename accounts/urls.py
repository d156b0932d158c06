from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [path("settings", views.seller_settings, name="settings")]
