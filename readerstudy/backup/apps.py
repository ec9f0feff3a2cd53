from django.apps import AppConfig


class BackupConfig(AppConfig):
    name = "readerstudy.backup"
    label = "backup"
