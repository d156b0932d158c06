"""allauth customisation (style §10): signing up creates the seller's tenant."""

from allauth.account.adapter import DefaultAccountAdapter

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
