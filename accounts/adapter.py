"""allauth customisation (style §10): signing up creates the seller's tenant; e-mails carry the
product's name (SITE_NAME) instead of the request's host."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context

from .notifications import branded_site
from .services import tenant_create_for_user


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            data = getattr(form, "cleaned_data", {})
            tenant_create_for_user(
                user=user,
                business_name=data.get("business_name", ""),
                country=data.get("country") or "IT",
            )
        return user

    def send_mail(self, template_prefix, email, context):
        """allauth's send_mail, with ``current_site`` named after the product: without
        django.contrib.sites allauth would greet with the host ("Hello from 127.0.0.1:8000!")."""
        request = allauth_context.request
        full = {"request": request, "email": email, "current_site": branded_site(request), **context}
        self.render_mail(template_prefix, email, full).send()
