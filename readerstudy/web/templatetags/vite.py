"""``{% vite_entry "src/reading.js" %}``: the script, preload and stylesheet tags of an entry."""

from __future__ import annotations

import logging

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from readerstudy.web.vite import ViteManifestError, entry_files

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag
def vite_entry(entry: str, preload_dynamic: bool = False) -> SafeString:
    """Tags for ``entry``; without a build, a visible error saying how to build it."""
    try:
        files = entry_files(entry, preload_dynamic=preload_dynamic)
    except ViteManifestError as exc:
        logger.error("%s", exc)
        return format_html('<div class="banner build-missing" data-kind="error" role="alert">{}</div>', exc)
    styles = format_html_join(
        "", '<link rel="stylesheet" href="{}">', ((static(p),) for p in files.stylesheets)
    )
    preloads = format_html_join(
        "", '<link rel="modulepreload" href="{}">', ((static(p),) for p in files.preloads)
    )
    script = format_html('<script type="module" src="{}"></script>', static(files.script))
    return styles + preloads + script
