"""DRF's browsable API without its one inline ``<style>`` (Pygments colours for code), which
the site's Content-Security-Policy refuses; the pages work the same without it."""

from __future__ import annotations

from rest_framework.renderers import BrowsableAPIRenderer


class StrictCSPBrowsableAPIRenderer(BrowsableAPIRenderer):
    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["code_style"] = None
        return context
