"""What a site declares about extracting its articles, besides its page class.

A site's page class (``crawler.extract.page``) carries ``profile = ExtractionProfile(...)``
(``WordPressPage.declare(site_names=...)`` fills it). The defaults fit a WordPress site: structured data (JSON-LD, OpenGraph, ``article:*`` meta) gives the
fields, ``.entry-content`` and its usual variants give the body, and the common plugin
junk inside the body (share buttons, related posts, captions, "اقرأ أيضاً" link paragraphs)
is removed. A site adds to the defaults with the ``extra_*``/``byline_patterns`` fields and
declares a field's selector only where structured data is wrong or missing (where the
selector stands in the field's order is the page class's ``<field>_sources``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from crawler.extract.verdict import MIN_BODY_CHARS

# Where WordPress themes and common CMSs put the article content, most specific first.
DEFAULT_BODY_SELECTORS: tuple[str, ...] = (
    "[itemprop='articleBody']",
    ".entry-content",
    ".post-content",
    ".td-post-content",
    ".single-post-content",
    ".article-content",
    ".article-body",
    ".article__body",
    ".content-article",
    ".story-body",
    ".post-body",
    ".entry-body",
    "div.entry",
    "article .content",
)

# Never article text, wherever it sits inside the content.
DEFAULT_REMOVE_SELECTORS: tuple[str, ...] = (
    "script",
    "style",
    "noscript",
    "template",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "iframe",
    "svg",
    "figcaption",
    ".wp-caption-text",
    ".wp-caption-dd",
    ".wp-element-caption",
    ".gallery-caption",
    ".sharedaddy",
    ".sd-sharing-enabled",
    ".jp-relatedposts",
    "#jp-relatedposts",
    ".yarpp-related",
    ".crp_related",
    ".related-posts",
    ".related_posts",
    ".relatedposts",
    ".post-related",
    ".addtoany_share_save_container",
    ".addtoany_content",
    ".a2a_kit",
    ".heateor_sss_sharing_container",
    ".share-buttons",
    ".social-share",
    ".post-share",
    ".share-post",
    ".sharing",
    ".entry-share",
    ".tagcloud",
    ".tags-links",
    ".post-tags",
    ".entry-tags",
    ".tag-links",
    ".post-views",
    ".adsbygoogle",
    ".code-block",
    ".advertisement",
    ".screen-reader-text",
    ".d-none",
    ".hidden",
    "[hidden]",
    "[style*='display:none']",
    "[style*='display: none']",
    ".rt-reading-time",
    "[class*='time_to_read']",
    "[class*='reading-time']",
    ".wp-block-buttons",
    ".wp-block-latest-posts",
    "[class*='tags']",
    "[class*='related']",
    "[class*='social']",
    "[class*='prev_next']",
    "[class*='prev-next']",
    "[class*='next-prev']",
    ".post-navigation",
    ".nav-links",
    "[itemprop='articleSection']",
    "[itemprop='keywords']",
    ".comments-area",
    "#comments",
    "#respond",
)

# Labels of share buttons (text left when a theme's share block is not recognised by class).
_SHARE_LABEL = (
    r"(?:tweet|share|print|e-?mail|whatsapp|facebook|twitter|telegram|linkedin|pinterest|"
    r"طباعة|مشاركة|تغريد|تويتر|فيسبوك|فيس\s?بوك|واتساب|واتس\s?اب|تلغرام|تيليجرام|تيلغرام)"
)

# Paragraphs that are never article text (matched at the start of a tidied paragraph).
DEFAULT_BOILERPLATE: tuple[str, ...] = (
    r"[اإ]قر[أا]\s+[أا]يض[اًآ]*",  # "اقرأ أيضاً" / "إقرأ أيضا" ...
    r"[اإ]قر[أا]\s+المزيد",
    r"مواد\s+ذات\s+صلة",
    r"مقالات\s+ذات\s+صلة",
    r"[أا]خبار\s+ذات\s+صلة",
    r"ذات\s+صلة\s*:",
    # "قد يعجبك أيضاً" (the seed page misspells it "يعحبك") heads a related-posts block; it is
    # boilerplate, not the end of the body: plugins put such blocks mid-content too.
    r"قد\s+يع[جح]بك\s+[أا]يض[اًآ]*",
    r"you\s+may\s+also\s+like",
    # A share line: "شارك المقال:" / "Share this:" alone or followed only by button labels,
    # or a paragraph made only of share-button labels.
    rf"(?:شارك(?:\s+(?:هذا|هذه|المقال|الخبر|المادة|على))*|share(?:\s+(?:this|on))*)"
    rf"\s*[:：]?\s*(?:{_SHARE_LABEL}[\s|/•·،,:-]*)*$",
    rf"(?:{_SHARE_LABEL}[\s|/•·،,-]*)+$",
    r"شارك\s+(?:هذا|هذه)\s+(?:المقال|الخبر|المادة)",
    r"تابعونا\s+على",
    r"للمزيد\s+من\s+الأخبار\s+تابعونا",
    r"بإمكانك\s+البحث\s+[أا]يض[اً]*\s+عن",
    r"read\s+(?:more|also)\b",
    r"related\s*(?:posts|articles)?\s*:",
)

# A paragraph matching one of these ends the body: everything after is page chrome.
DEFAULT_STOP_PATTERNS: tuple[str, ...] = (
    r"دع\s+تعليق[اً]*\s*$",
    r"[أا]ترك\s+تعليق[اً]*\s*$",
    r"عذر[اً]*\s+التعليقات\s+مغلقة",
    r"المقال\s+التالي\s*$",
    r"المقال\s+السابق\s*$",
    r"\d+\s+تعليق(?:ات)?\s*$",
    r"privacy\s*&\s*cookies\s+policy",
    # Comment-section disclaimers printed under the article.
    r"الآراء\s+الواردة\s+(?:أدناه|في\s+التعليقات)",
    r"ترحب\s+.{0,40}\s+بالنقاش",
    r"leave\s+a\s+(?:reply|comment)",
)


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class ExtractionProfile:
    """One site's extraction declaration; every field has a working default."""

    timezone: str = "Asia/Damascus"  # for dates written without an offset
    language: str = "ar"
    # The outlet's names as they appear after a title ("… – فرات بوست").
    site_names: tuple[str, ...] = ()
    # Body: the first selector that finds enough text wins (all its matches are compared).
    body_selectors: tuple[str, ...] = DEFAULT_BODY_SELECTORS
    extra_remove_selectors: tuple[str, ...] = ()
    extra_boilerplate: tuple[str, ...] = ()  # regexes matched at a paragraph's start
    extra_stop_patterns: tuple[str, ...] = ()
    # Lines inside the content that are not article text (an editor's signature), removed
    # only when a whole paragraph among the first two. Never an opening dateline or credit
    # line ("دمشق-سانا", "فرات بوست / خاص"): by the body rule those are the article's.
    byline_patterns: tuple[str, ...] = ()
    # Where a field is on the page, tried where the page class's <field>_sources puts
    # "selector" (first by default; a date-only match gives way to a full time that day).
    title_selector: str | None = None
    subtitle_selector: str | None = None
    author_selector: str | None = None
    published_selector: str | None = None
    modified_selector: str | None = None
    section_selector: str | None = None
    tags_selector: str | None = None
    image_selector: str | None = None
    # A regex with one group taking the site's article id from a URL (e.g. r"/archives/(\d+)").
    external_id_pattern: str | None = None
    min_body_chars: int = MIN_BODY_CHARS  # shorter is not an article (crawler.extract.verdict)
    use_generic_fallback: bool = True  # trafilatura when no body selector finds text

    @property
    def remove_selectors(self) -> tuple[str, ...]:
        return DEFAULT_REMOVE_SELECTORS + self.extra_remove_selectors

    @cached_property
    def boilerplate_re(self) -> re.Pattern[str] | None:
        return _compile(DEFAULT_BOILERPLATE + self.extra_boilerplate)

    @cached_property
    def stop_re(self) -> re.Pattern[str] | None:
        return _compile(DEFAULT_STOP_PATTERNS + self.extra_stop_patterns)

    @cached_property
    def byline_re(self) -> re.Pattern[str] | None:
        return _compile(tuple(rf"(?:{p})\s*$" for p in self.byline_patterns))


DEFAULT_PROFILE = ExtractionProfile()
