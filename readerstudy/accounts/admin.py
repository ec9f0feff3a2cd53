from django.contrib import admin

from readerstudy.accounts.models import ReaderProfile


@admin.register(ReaderProfile)
class ReaderProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "years_experience", "specialty", "simulated")
    list_filter = ("role", "simulated")
    search_fields = ("user__username",)
