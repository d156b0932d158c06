from django.urls import path

from . import views

app_name = "marketplaces"
urlpatterns = [
    path("stores/", views.store_list, name="stores"),
    path("stores/bricklink/connect", views.connect_bricklink, name="connect_bricklink"),
    path("stores/brickowl/connect", views.connect_brickowl, name="connect_brickowl"),
    path("stores/<uuid:public_id>/disconnect", views.store_disconnect, name="store_disconnect"),
    path("stores/<uuid:public_id>/import", views.store_import, name="store_import"),
    path("orders", views.order_list, name="orders"),
    path("orders/<uuid:public_id>", views.order_detail, name="order_detail"),
]
