"""Furat Post (فرات بوست), euphratespost.net: Deir ez-Zor, Raqqa and Hasakah. WordPress.

Body paragraphs start with a byline ("فرات بوست / أخبار", "*فرات بوست/ خاص") and carry
"مواد ذات صلة:" link blocks; the page ends with a view counter, "0 تعليق" and
"المقال التالي" (as seen in public material on the site). Former name: "شبكة ديرالزور تذبح بصمت".
"""

from crawler.discovery import Listing
from crawler.extract.profile import ExtractionProfile
from crawler.platforms.wordpress import WORDPRESS_SOURCES, WordPressSpider


class FuratPostSpider(WordPressSpider):
    name = "furatpost"
    outlet_name = "فرات بوست"
    allowed_domains = ["euphratespost.net"]
    base_url = "https://euphratespost.net/"
    extraction = ExtractionProfile(
        site_names=("فرات بوست", "الفرات بوست", "مؤسسة الفرات بوست", "Euphrates Post"),
        byline_patterns=(r"\*?\s*(?:ال)?فرات\s*بوست\s*[/–-].{0,40}",),
    )
    sources = (
        *WORDPRESS_SOURCES,  # /feed/, REST, sitemaps
        # Last resort: the home page pages through every post (`/page/N/`, a next link).
        Listing("/", link_css="article h2.entry-title a, h2.entry-title a, h3.entry-title a"),
    )
    schedule = "17 */2 * * *"  # every two hours, off the hour
