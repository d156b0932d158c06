"""allauth customisation (docs/architecture.md §10.3): signing up creates the seller's tenant and keeps the
language the seller signed up in; e-mails carry the product's name (SITE_NAME) instead of the
request's host."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.utils import translation

from .notifications import branded_site
from .services import tenant_create_for_user


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # The language of the sign-up page becomes the account's (its e-mails too) until the seller
        # picks another with the language switch.
        language = translation.get_language() or ""
        if not user.language and language in dict(settings.LANGUAGES):
            user.language = language
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
