from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "readerstudy.accounts"

    def ready(self) -> None:
        from django.contrib import admin

        from readerstudy.accounts import sessions  # noqa: F401  (connects the sign-in receiver)
        from readerstudy.accounts.signin import BoundedAdminAuthenticationForm

        # The admin's sign-ins share the bound on password checks at once (accounts/signin.py).
        admin.site.login_form = BoundedAdminAuthenticationForm
