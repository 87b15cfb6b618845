"""Furat Post (فرات بوست), euphratespost.net: Deir ez-Zor, Raqqa and Hasakah. WordPress.

Body paragraphs start with a credit line ("فرات بوست / أخبار", "*فرات بوست/ خاص"), which is
body by the body rule, and carry "مواد ذات صلة:" link blocks; the page ends with a view
counter, "0 تعليق" and "المقال التالي" (as seen in public material on the site). Former
name: "شبكة ديرالزور تذبح بصمت".
"""

from crawler.discovery import Listing
from crawler.extract.page import WordPressPage
from crawler.platforms.wordpress import WORDPRESS_SOURCES, WordPressSpider


class FuratPostSpider(WordPressSpider):
    name = "furatpost"
    outlet_name = "فرات بوست"
    allowed_domains = ["euphratespost.net"]
    base_url = "https://euphratespost.net/"
    # site_version 1: the credit line is body (it was stripped by byline_patterns).
    page = WordPressPage.declare(
        name="FuratPostPage",
        site_version=1,
        site_names=("فرات بوست", "الفرات بوست", "مؤسسة الفرات بوست", "Euphrates Post"),
    )
    sources = (
        *WORDPRESS_SOURCES,  # /feed/, REST, sitemaps
        # Last resort: the home page pages through every post (`/page/N/`, a next link).
        Listing("/", link_css="article h2.entry-title a, h2.entry-title a, h3.entry-title a"),
    )
    schedule = "17 */2 * * *"  # every two hours, off the hour
