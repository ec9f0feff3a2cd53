from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "readerstudy.accounts"

    def ready(self) -> None:
        from readerstudy.accounts import sessions  # noqa: F401  (connects the sign-in receiver)
