"""Store connections (credentials encrypted at rest) and, later, normalised orders."""

import json
import uuid

from django.db import models

from accounts.models import Tenant
from brickinvoice.fields import EncryptedTextField


class Marketplace(models.TextChoices):
    BRICKLINK = "bricklink", "BrickLink"
    BRICKOWL = "brickowl", "BrickOwl"


class StoreConnection(models.Model):
    """One seller's store on one marketplace. Credentials are a JSON object, encrypted."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        DISCONNECTED = "disconnected", "Disconnected"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="stores")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    marketplace = models.CharField(max_length=20, choices=Marketplace.choices)
    name = models.CharField(max_length=200, blank=True)
    credentials = EncryptedTextField(blank=True, default="")
    credentials_hint = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "marketplace"])]

    def __str__(self):
        return f"{self.get_marketplace_display()} store of {self.tenant}"

    def get_credentials(self) -> dict:
        return json.loads(self.credentials) if self.credentials else {}

    def set_credentials(self, values: dict, hint: str = "") -> None:
        self.credentials = json.dumps(values)
        self.credentials_hint = hint
