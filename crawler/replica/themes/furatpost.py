"""Furat Post's theme: a WordPress Arabic (RTL) news theme with all of its page junk.

What is known of the real pages (docs SITES.md, the seed scrape) is reproduced: the body may
start with a byline line ("فرات بوست / أخبار"), carries "اقرأ أيضاً" and "مواد ذات صلة:" link
blocks and captioned images inside the content; around it come "by admindiaa", a view counter,
"0 تعليق", "المقال التالي", share buttons, "قد يعحبك أيضاً" (the site's own spelling), the
comment form "دع تعليقاً" with its consent line, and a cookie-law banner with
"Privacy & Cookies Policy". The rest follows common WordPress markup (Yoast head, post classes,
``entry-content``, ``wp-caption``, ``tagcloud``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from crawler.replica.slugs import encode_lower, slug_path
from crawler.replica.world import Article, World

MONTHS_AR = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)  # fmt: skip
READ_ALSO = "اقرأ أيضاً: "
RELATED = "مواد ذات صلة:"
YOU_MAY_LIKE = "قد يعحبك أيضاً"  # sic: the site's spelling
LEAVE_COMMENT = "دع تعليقاً"
CONSENT = "ياستخدامك لهذا النموذج أنت توافق على حفظ بيناتك في هذا الموقع"  # sic
COOKIE_TEXT = (
    "هذا الموقع يستخدم ما يسمى الكوكيز لتأمين أفضل خدمة لكم في زيارتكم لموقعنا، "
    "معظم المواقع الكبرى تستخدخ هذه التقنية"
)  # sic
NOT_FOUND_TITLE = "الصفحة غير موجودة"
NOT_FOUND_TEXT = "عذراً، الصفحة التي تبحث عنها غير موجودة. ربما تم نقلها أو حذفها."
PER_PAGE = 10


def base_url(world: World) -> str:
    return f"https://{world.host}"


def permalink(world: World, article: Article) -> str:
    return base_url(world) + slug_path(article.slug)


def category_path(world: World, slug: str) -> str:
    """``/category/<parent>/<child>/`` as WordPress builds hierarchical category links."""
    term = world.categories[slug]
    parts = [encode_lower(slug)]
    parent = next((c for c in world.categories.values() if c.id == term.parent), None)
    if parent is not None:
        parts.insert(0, encode_lower(parent.slug))
    return "/category/" + "/".join(parts) + "/"


def tag_path(world: World, name: str) -> str:
    return f"/tag/{encode_lower(world.term_for_tag(name).slug)}/"


def upload_url(world: World, file: str) -> str:
    return f"{base_url(world)}/wp-content/uploads/{file}"


def iso_local(world: World, when: datetime) -> str:
    return world.local(when).isoformat()


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def display_date(world: World, when: datetime) -> str:
    local = world.local(when)
    return f"{MONTHS_AR[local.month - 1]} {local.day}, {local.year}"


def texturize(text: str) -> str:
    """HTML-escape as WordPress's rendered titles are (``&`` as ``&#038;``)."""
    return escape(text, quote=False).replace("&amp;", "&#038;")


def excerpt(article: Article, words: int = 55) -> str:
    tokens = " ".join(article.paragraphs).split()
    text = " ".join(tokens[:words])
    return text + (" [&hellip;]" if len(tokens) > words else "")


# -- content ---------------------------------------------------------------------------


def _figure(world: World, media_id: int, file: str, caption: str, alt: str = "") -> str:
    src = upload_url(world, file)
    img = (
        f'<img loading="lazy" decoding="async" class="size-full wp-image-{media_id}" src="{src}" '
        f'alt="{escape(alt)}" width="800" height="533" />'
    )
    if not caption:
        return f"<p>{img}</p>"
    return (
        f'<figure id="attachment_{media_id}" aria-describedby="caption-attachment-{media_id}" '
        f'style="width: 800px" class="wp-caption aligncenter">{img}'
        f'<figcaption id="caption-attachment-{media_id}" class="wp-caption-text">'
        f"{escape(caption)}</figcaption></figure>"
    )


def _link(world: World, post_id: int) -> str:
    other = world.get(post_id)
    if other is None:
        return ""
    return f'<a href="{permalink(world, other)}">{texturize(other.title)}</a>'


def content_html(world: World, article: Article) -> str:
    """The post content as WordPress's ``the_content`` renders it (page and REST alike)."""
    out: list[str] = []
    if article.byline:
        out.append(f"<p><strong>{escape(article.byline)}</strong></p>")
    after: dict[int, list[dict[str, Any]]] = {}
    for block in article.inline:
        after.setdefault(int(block["after"]), []).append(block)
    for index, paragraph in enumerate(article.paragraphs):
        out.append(f"<p>{escape(paragraph, quote=False)}</p>")
        for n, block in enumerate(after.get(index, [])):
            kind = block["kind"]
            if kind == "read_also":
                out.append(f"<p><strong>{READ_ALSO}</strong>{_link(world, block['post'])}</p>")
            elif kind == "related":
                items = "".join(f"<li>{_link(world, p)}</li>" for p in block["posts"])
                out.append(f"<p><strong>{RELATED}</strong></p>\n<ul>{items}</ul>")
            elif kind == "image":
                media_id = article.id * 10 + index * 3 + n + 1
                out.append(_figure(world, media_id, block["file"], block.get("caption", "")))
    return "\n".join(out) + "\n"


# -- page chrome -----------------------------------------------------------------------


def _head(world: World, title: str, canonical: str, extra: str = "") -> str:
    site = escape(world.meta["name"])
    return f"""<!DOCTYPE html>
<html dir="rtl" lang="ar">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - {site}</title>
<meta name="robots" content="index, follow, max-image-preview:large, max-snippet:-1, max-video-preview:-1">
<link rel="canonical" href="{canonical}">
{extra}<link rel="alternate" type="application/rss+xml" title="{site} &laquo; الخلاصة" href="{base_url(world)}/feed/">
<link rel="https://api.w.org/" href="{base_url(world)}/wp-json/">
<link rel="stylesheet" id="theme-style-css" href="{base_url(world)}/wp-content/themes/furat/style.css?ver=2.4" media="all">
<link rel="stylesheet" id="cookie-law-info-css" href="{base_url(world)}/wp-content/plugins/cookie-law-info/public/css/cookie-law-info-public.css?ver=1.9.5" media="all">
<script src="{base_url(world)}/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
</head>
"""


def _header(world: World) -> str:
    return world.derived("theme/header", _build_header)


def _sidebar(world: World) -> str:
    return world.derived("theme/sidebar", _build_sidebar)


def _footer(world: World) -> str:
    return world.derived("theme/footer", _build_footer)


def _build_header(world: World) -> str:
    nav = "".join(
        f'<li class="menu-item menu-item-type-taxonomy menu-item-object-category">'
        f'<a href="{base_url(world)}{category_path(world, c.slug)}">{escape(c.name)}</a></li>'
        for c in world.categories.values()
    )
    latest = world.published()[:5]
    ticker = "".join(
        f'<li><a href="{permalink(world, a)}">{texturize(a.title)}</a></li>' for a in latest
    )
    return f"""<div id="page" class="site">
<div class="top-bar"><span class="top-date">{display_date(world, world.clock())}</span>
<ul class="social-icons"><li><a href="https://www.facebook.com/euphratespost" class="facebook">فيسبوك</a></li><li><a href="https://twitter.com/EuphratesPost" class="twitter">تويتر</a></li><li><a href="https://t.me/euphratespost" class="telegram">تلغرام</a></li></ul></div>
<header id="masthead" class="site-header">
<div class="site-branding"><a href="{base_url(world)}/" rel="home" class="custom-logo-link"><img src="{base_url(world)}/wp-content/uploads/2019/03/logo.png" alt="{escape(world.meta["name"])}" class="custom-logo"></a></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu"><li class="menu-item menu-item-home"><a href="{base_url(world)}/">الرئيسية</a></li>{nav}</ul></nav>
<form role="search" method="get" class="search-form" action="{base_url(world)}/"><input type="search" class="search-field" placeholder="بحث &hellip;" name="s"><button type="submit">بحث</button></form>
</header>
<div class="breaking-news"><span class="breaking-title">عاجل</span><ul class="breaking-news-ticker">{ticker}</ul></div>
<div id="content" class="site-content">
"""


def _build_sidebar(world: World) -> str:
    posts = world.published()
    # "Most read": a fixed pick that does not follow the newest posts.
    most_read = sorted(posts, key=lambda a: (a.id * 7919) % 1009)[:5]
    items = "".join(
        f'<li><a href="{permalink(world, a)}">{texturize(a.title)}</a>'
        f'<span class="post-views">{(a.id * 37) % 5000 + 120} مشاهدة</span></li>'
        for a in most_read
    )
    cloud = " ".join(
        f'<a href="{base_url(world)}{tag_path(world, t.name)}" class="tag-cloud-link tag-link-{t.id}" '
        f'style="font-size: {8 + t.id % 14}pt;" aria-label="{escape(t.name)}">{escape(t.name)}</a>'
        for t in list(world.tags.values())[:30]
    )
    return f"""<aside id="secondary" class="widget-area sidebar">
<section id="popular-posts-2" class="widget widget_popular_posts"><h3 class="widget-title">الأكثر قراءة</h3><ul>{items}</ul></section>
<section id="tag_cloud-2" class="widget widget_tag_cloud"><h3 class="widget-title">وسوم</h3><div class="tagcloud">{cloud}</div></section>
<section id="text-3" class="widget widget_text"><h3 class="widget-title">تابعونا</h3><div class="textwidget"><p>تابعوا فرات بوست على وسائل التواصل الاجتماعي لمتابعة آخر الأخبار من دير الزور والرقة والحسكة.</p></div></section>
</aside>
"""


def _build_footer(world: World) -> str:
    year = world.clock().astimezone(world.tz).year
    return f"""</div><!-- #content -->
<footer id="colophon" class="site-footer">
<div class="footer-widgets"><p>فرات بوست: مؤسسة إعلامية سورية مستقلة تعنى بتغطية أخبار المنطقة الشرقية وتوثيق الانتهاكات.</p>
<ul class="footer-menu"><li><a href="{base_url(world)}/about/">من نحن</a></li><li><a href="{base_url(world)}/contact/">اتصل بنا</a></li><li><a href="{base_url(world)}/privacy-policy/">سياسة الخصوصية</a></li></ul></div>
<div class="site-info">جميع الحقوق محفوظة &copy; {year} فرات بوست</div>
</footer>
</div><!-- #page -->
<div id="cookie-law-info-bar" data-nosnippet="true"><span>{COOKIE_TEXT} <a role="button" data-cli_action="accept" id="cookie_action_close_header" class="medium cli-plugin-button cli-plugin-main-button cookie_action_close_header cli_action_button">موافق</a> <a href="{base_url(world)}/privacy-policy/" id="CONSTANT_OPEN_URL" target="_blank" class="cli-plugin-main-link">قراءة المزيد</a></span></div>
<div class="cli-modal" id="cliSettingsPopup" tabindex="-1" role="dialog" aria-hidden="true"><div class="cli-modal-dialog" role="document"><div class="cli-modal-content cli-bar-popup"><div class="cli-modal-body"><div class="cli-container-fluid cli-tab-container"><div class="cli-privacy-overview"><h4>Privacy &amp; Cookies Policy</h4><div class="cli-privacy-content"><div class="cli-privacy-content-text">This website uses cookies to improve your experience while you navigate through the website.</div></div></div></div></div></div></div></div>
<script src="{base_url(world)}/wp-content/plugins/cookie-law-info/public/js/cookie-law-info-public.js?ver=1.9.5" id="cookie-law-info-js"></script>
<script src="{base_url(world)}/wp-content/themes/furat/js/main.js?ver=2.4" id="furat-main-js"></script>
</body>
</html>
"""


def _positions(world: World) -> dict[int, int]:
    """Post id -> index in the newest-first list, for previous/next links."""
    return world.derived(
        "theme/positions", lambda w: {a.id: i for i, a in enumerate(w.published())}
    )


def _related(world: World, article: Article) -> list[Article]:
    """ "قد يعحبك أيضاً": the newest posts sharing the article's most specific (last) category."""

    def by_category(w: World) -> dict[str, list[Article]]:
        out: dict[str, list[Article]] = {}
        for a in w.published():
            for c in a.categories:
                bucket = out.setdefault(c, [])
                if len(bucket) < 4:
                    bucket.append(a)
        return out

    pool = world.derived("theme/related", by_category).get(
        article.categories[-1] if article.categories else "", []
    )
    picked = [a for a in pool if a.id != article.id][:3]
    return picked or [a for a in world.published()[:4] if a.id != article.id][:3]


# -- article page ----------------------------------------------------------------------


def _json_ld(world: World, article: Article, url: str) -> str:
    base = base_url(world)
    author = world.authors.get(article.author)
    person_id = f"{base}/#/schema/person/{article.author}"
    image = article.featured_image
    section = [world.categories[c].name for c in article.categories if c in world.categories]
    graph: list[dict[str, Any]] = [
        {
            "@type": "Article",
            "@id": f"{url}#article",
            "isPartOf": {"@id": url},
            "author": {"name": author.name if author else article.author, "@id": person_id},
            "headline": article.title,
            "datePublished": iso_local(world, article.date_gmt),
            "dateModified": iso_local(world, article.modified_gmt),
            "mainEntityOfPage": {"@id": url},
            "wordCount": sum(len(p.split()) for p in article.paragraphs),
            "publisher": {"@id": f"{base}/#organization"},
            "keywords": article.tags,
            "articleSection": section,
            "inLanguage": "ar",
        },
        {
            "@type": "WebPage",
            "@id": url,
            "url": url,
            "name": f"{article.title} - {world.meta['name']}",
            "isPartOf": {"@id": f"{base}/#website"},
            "datePublished": iso_local(world, article.date_gmt),
            "dateModified": iso_local(world, article.modified_gmt),
            "breadcrumb": {"@id": f"{url}#breadcrumb"},
            "inLanguage": "ar",
        },
        {
            "@type": "BreadcrumbList",
            "@id": f"{url}#breadcrumb",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "الرئيسية", "item": f"{base}/"},
                {"@type": "ListItem", "position": 2, "name": article.title},
            ],
        },
        {
            "@type": "WebSite",
            "@id": f"{base}/#website",
            "url": f"{base}/",
            "name": world.meta["name"],
            "publisher": {"@id": f"{base}/#organization"},
            "inLanguage": "ar",
        },
        {
            "@type": "Organization",
            "@id": f"{base}/#organization",
            "name": world.meta["name"],
            "url": f"{base}/",
            "sameAs": [
                "https://www.facebook.com/euphratespost",
                "https://twitter.com/EuphratesPost",
            ],
        },
        {
            "@type": "Person",
            "@id": person_id,
            "name": author.name if author else article.author,
            "url": f"{base}/author/{article.author}/",
        },
    ]
    if image:
        graph[0]["image"] = {"@id": f"{url}#primaryimage"}
        graph[0]["thumbnailUrl"] = upload_url(world, image["file"])
        graph.append(
            {
                "@type": "ImageObject",
                "@id": f"{url}#primaryimage",
                "url": upload_url(world, image["file"]),
                "contentUrl": upload_url(world, image["file"]),
                "width": image.get("width", 1200),
                "height": image.get("height", 800),
                "caption": image.get("caption", ""),
            }
        )
    data = {"@context": "https://schema.org", "@graph": graph}
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json" class="yoast-schema-graph">{text}</script>\n'


def _article_head(world: World, article: Article, url: str) -> str:
    base = base_url(world)
    desc = escape(" ".join(" ".join(article.paragraphs).split()[:30]))
    meta = [
        f'<link rel="shortlink" href="{base}/?p={article.id}">',
        f'<link rel="alternate" type="application/json" href="{base}/wp-json/wp/v2/posts/{article.id}">',
        f'<meta name="description" content="{desc}">',
        '<meta property="og:locale" content="ar_AR">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:title" content="{escape(article.title)}">',
        f'<meta property="og:description" content="{desc}">',
        f'<meta property="og:url" content="{url}">',
        f'<meta property="og:site_name" content="{escape(world.meta["name"])}">',
        '<meta property="article:publisher" content="https://www.facebook.com/euphratespost">',
        f'<meta property="article:published_time" content="{iso_utc(article.date_gmt)}">',
        f'<meta property="article:modified_time" content="{iso_utc(article.modified_gmt)}">',
    ]
    for slug in article.categories[:1]:
        if slug in world.categories:
            meta.append(
                f'<meta property="article:section" content="{escape(world.categories[slug].name)}">'
            )
    meta += [f'<meta property="article:tag" content="{escape(t)}">' for t in article.tags]
    if article.featured_image:
        image = article.featured_image
        meta += [
            f'<meta property="og:image" content="{upload_url(world, image["file"])}">',
            f'<meta property="og:image:width" content="{image.get("width", 1200)}">',
            f'<meta property="og:image:height" content="{image.get("height", 800)}">',
            '<meta property="og:image:type" content="image/jpeg">',
        ]
    author = world.authors.get(article.author)
    meta += [
        f'<meta name="author" content="{escape(author.name if author else article.author)}">',
        '<meta name="twitter:card" content="summary_large_image">',
        '<meta name="twitter:site" content="@EuphratesPost">',
    ]
    return "\n".join(meta) + "\n" + _json_ld(world, article, url)


def _share(url: str, title: str) -> str:
    return (
        '<div class="post-share"><span class="share-title">شارك المقال:</span>'
        f'<a class="share-facebook" href="https://www.facebook.com/sharer.php?u={url}" rel="nofollow">فيسبوك</a>'
        f'<a class="share-twitter" href="https://twitter.com/intent/tweet?url={url}" rel="nofollow">تويتر</a>'
        f'<a class="share-whatsapp" href="https://api.whatsapp.com/send?text={url}" rel="nofollow">واتساب</a>'
        f'<a class="share-telegram" href="https://t.me/share/url?url={url}" rel="nofollow">تلغرام</a></div>'
    )


def render_article(world: World, article: Article) -> str:
    """The single-post page."""
    url = permalink(world, article)
    base = base_url(world)
    author = world.authors.get(article.author)
    author_name = escape(author.name if author else article.author)
    cats = [world.categories[c] for c in article.categories if c in world.categories]
    cat_classes = " ".join(f"category-{encode_lower(c.slug)}" for c in cats)
    tag_classes = " ".join(f"tag-{encode_lower(world.term_for_tag(t).slug)}" for t in article.tags)
    cat_links = ", ".join(
        f'<a href="{base}{category_path(world, c.slug)}" rel="category tag">{escape(c.name)}</a>'
        for c in cats
    )
    tag_links = "".join(
        f'<a href="{base}{tag_path(world, t)}" rel="tag">{escape(t)}</a>' for t in article.tags
    )
    featured = ""
    if article.featured_image:
        image = article.featured_image
        caption = image.get("caption") or ""
        featured = (
            f'<div class="post-thumbnail"><img width="{image.get("width", 1200)}" height="{image.get("height", 800)}" '
            f'src="{upload_url(world, image["file"])}" class="attachment-post-thumbnail size-post-thumbnail wp-post-image" '
            f'alt="{escape(image.get("alt", ""))}" decoding="async">'
            + (f'<span class="thumbnail-caption">{escape(caption)}</span>' if caption else "")
            + "</div>"
        )
    published = world.published()
    position = _positions(world)
    here = position.get(article.id)
    related = _related(world, article)
    related_html = "".join(
        f'<div class="related-item"><a href="{permalink(world, a)}">'
        f'<h4 class="related-title">{texturize(a.title)}</h4></a>'
        f'<span class="related-date">{display_date(world, a.date_gmt)}</span></div>'
        for a in related
    )
    nav = ""
    if here is not None and here > 0:
        newer = published[here - 1]
        nav += (
            f'<div class="nav-next"><a href="{permalink(world, newer)}" rel="next">'
            f'<span class="meta-nav">المقال التالي</span> {texturize(newer.title)}</a></div>'
        )
    if here is not None and here + 1 < len(published):
        older = published[here + 1]
        nav += (
            f'<div class="nav-previous"><a href="{permalink(world, older)}" rel="prev">'
            f'<span class="meta-nav">المقال السابق</span> {texturize(older.title)}</a></div>'
        )
    views = (article.id * 37) % 5000 + 120
    body_class = (
        f"post-template-default single single-post postid-{article.id} "
        "single-format-standard rtl wp-embed-responsive"
    )
    head = _head(world, article.title, url, _article_head(world, article, url))
    return f"""{head}<body class="{body_class}">
{_header(world)}<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-{article.id}" class="post-{article.id} post type-post status-publish format-standard has-post-thumbnail hentry {cat_classes} {tag_classes}">
<header class="entry-header">
<div class="entry-category">{cat_links}</div>
<h1 class="entry-title">{texturize(article.title)}</h1>
<div class="entry-meta">
<span class="byline">by <span class="author vcard"><a class="url fn n" href="{base}/author/{article.author}/">{author_name}</a></span></span>
<span class="posted-on"><time class="entry-date published" datetime="{iso_local(world, article.date_gmt)}">{display_date(world, article.date_gmt)}</time><time class="updated" datetime="{iso_local(world, article.modified_gmt)}">{display_date(world, article.modified_gmt)}</time></span>
<span class="post-views"><i class="icon-eye"></i> {views}</span>
<span class="comments-link"><a href="{url}#respond">0 تعليق</a></span>
</div>
</header>
{featured}
<div class="entry-content">
{content_html(world, article)}{_share(url, article.title)}
</div>
<footer class="entry-footer"><div class="post-tags"><span class="tags-title">الوسوم:</span>{tag_links}</div></footer>
</article>
<nav class="navigation post-navigation" aria-label="المقالات"><h2 class="screen-reader-text">تصفح المقالات</h2><div class="nav-links">{nav}</div></nav>
<div class="related-posts"><h3 class="related-posts-title">{YOU_MAY_LIKE}</h3><div class="related-list">{related_html}</div></div>
<div id="comments" class="comments-area">
<div id="respond" class="comment-respond">
<h3 id="reply-title" class="comment-reply-title">{LEAVE_COMMENT} <small><a rel="nofollow" id="cancel-comment-reply-link" href="{url}#respond" style="display:none;">إلغاء الرد</a></small></h3>
<form action="{base}/wp-comments-post.php" method="post" id="commentform" class="comment-form" novalidate>
<p class="comment-notes"><span id="email-notes">لن يتم نشر عنوان بريدك الإلكتروني.</span> الحقول الإلزامية مشار إليها بـ <span class="required">*</span></p>
<p class="comment-form-comment"><label for="comment">التعليق</label><textarea id="comment" name="comment" cols="45" rows="8" maxlength="65525" required></textarea></p>
<p class="comment-form-author"><label for="author">الاسم <span class="required">*</span></label><input id="author" name="author" type="text" value="" size="30" maxlength="245" required></p>
<p class="comment-form-email"><label for="email">البريد الإلكتروني <span class="required">*</span></label><input id="email" name="email" type="email" value="" size="30" maxlength="100" required></p>
<p class="comment-form-url"><label for="url">الموقع الإلكتروني</label><input id="url" name="url" type="url" value="" size="30" maxlength="200"></p>
<p class="wpgdprc-checkbox comment-form-wpgdprc"><input type="checkbox" name="wpgdprc" id="wpgdprc" value="1"><label for="wpgdprc">{CONSENT} <abbr class="wpgdprc-required" title="You need to accept this checkbox.">*</abbr></label></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" value="إرسال التعليق"><input type="hidden" name="comment_post_ID" value="{article.id}" id="comment_post_ID"><input type="hidden" name="comment_parent" id="comment_parent" value="0"></p>
</form>
</div>
</div>
</main></div>
{_sidebar(world)}{_footer(world)}"""


# -- listings and errors ---------------------------------------------------------------


def _pagination(path: str, page: int, pages: int, base: str) -> str:
    if pages <= 1:
        return ""

    def href(n: int) -> str:
        return f"{base}{path}" if n == 1 else f"{base}{path}page/{n}/"

    links = []
    if page > 1:
        links.append(f'<a class="prev page-numbers" href="{href(page - 1)}">&laquo; السابق</a>')
    for n in range(max(1, page - 2), min(pages, page + 2) + 1):
        if n == page:
            links.append(f'<span aria-current="page" class="page-numbers current">{n}</span>')
        else:
            links.append(f'<a class="page-numbers" href="{href(n)}">{n}</a>')
    if page < pages:
        links.append(f'<a class="next page-numbers" href="{href(page + 1)}">التالي &raquo;</a>')
    return (
        '<nav class="navigation pagination" aria-label="ترقيم الصفحات">'
        f'<div class="nav-links">{"".join(links)}</div></nav>'
    )


def render_listing(
    world: World,
    heading: str,
    path: str,
    posts: list[Article],
    page: int,
    pages: int,
    body_class: str,
) -> str:
    """A home, category, tag or author page: ``posts`` is this page's slice."""
    base = base_url(world)
    canonical = f"{base}{path}" if page == 1 else f"{base}{path}page/{page}/"
    rel = ""
    if page > 1:
        prev = f"{base}{path}" if page == 2 else f"{base}{path}page/{page - 1}/"
        rel += f'<link rel="prev" href="{prev}">\n'
    if page < pages:
        rel += f'<link rel="next" href="{base}{path}page/{page + 1}/">\n'
    items = []
    for a in posts:
        thumb = ""
        if a.featured_image:
            thumb = (
                f'<div class="post-thumb"><a href="{permalink(world, a)}"><img src="'
                f'{upload_url(world, a.featured_image["file"])}" alt="" loading="lazy"></a></div>'
            )
        items.append(
            f'<article id="post-{a.id}" class="post-{a.id} post type-post status-publish hentry">'
            f'{thumb}<h2 class="entry-title"><a href="{permalink(world, a)}" rel="bookmark">'
            f"{texturize(a.title)}</a></h2>"
            f'<div class="entry-meta"><time class="entry-date published" datetime="'
            f'{iso_local(world, a.date_gmt)}">{display_date(world, a.date_gmt)}</time></div>'
            f'<div class="entry-summary"><p>{escape(excerpt(a, 30), quote=False)}</p></div></article>'
        )
    if page > 1:
        heading = f"{heading} - الصفحة {page}"
    return f"""{_head(world, heading, canonical, rel)}<body class="{body_class} rtl">
{_header(world)}<div id="primary" class="content-area"><main id="main" class="site-main">
<header class="page-header"><h1 class="page-title">{escape(heading)}</h1></header>
<div class="posts-list">{"".join(items)}</div>
{_pagination(path, page, pages, base)}
</main></div>
{_sidebar(world)}{_footer(world)}"""


def render_not_found(world: World) -> str:
    """The theme's 404 page (also served with 200 by a soft-deleting site)."""
    base = base_url(world)
    return f"""{_head(world, NOT_FOUND_TITLE, base + "/")}<body class="error404 rtl">
{_header(world)}<div id="primary" class="content-area"><main id="main" class="site-main">
<section class="error-404 not-found"><header class="page-header"><h1 class="page-title">{NOT_FOUND_TITLE}</h1></header>
<div class="page-content"><p>{NOT_FOUND_TEXT}</p>
<form role="search" method="get" class="search-form" action="{base}/"><input type="search" class="search-field" name="s"><button type="submit">بحث</button></form></div></section>
</main></div>
{_sidebar(world)}{_footer(world)}"""
