"""Synthetic but plausible Furat Post articles (about 5 KB of Arabic each) for benchmarks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from crawler.replica.slugs import wp_slugify
from crawler.replica.world import Article

FIRST_ID = 60_000
# The newest generated article; older ones step back a few hours each (deterministic).
NEWEST = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

PLACES = [
    "دير الزور", "الميادين", "البوكمال", "الرقة", "الطبقة", "الحسكة", "القامشلي", "الشدادي",
    "هجين", "الشحيل", "ذيبان", "الصور", "البصيرة", "العشارة", "الكسرة", "معدان", "رأس العين",
    "تل أبيض", "المنصورة", "الجرذي",
]  # fmt: skip
ACTORS = [
    "مجلس دير الزور المدني", "مديرية التربية", "لجنة المياه المحلية", "منظمة إنسانية",
    "مديرية الزراعة", "المجلس المحلي", "الهلال الأحمر", "فرق الدفاع المدني", "وجهاء العشائر",
]  # fmt: skip
TOPICS = [
    ("أزمة المياه", "انقطاع المياه عن الأحياء", ["مياه الشرب", "الخدمات"]),
    ("ارتفاع الأسعار", "غلاء أسعار المواد الغذائية", ["الأسعار", "المعيشة"]),
    ("التعليم", "نقص المعلمين في المدارس", ["التعليم", "مدارس"]),
    ("الكهرباء", "تراجع ساعات التغذية الكهربائية", ["الكهرباء", "الخدمات"]),
    ("الزراعة", "تراجع المساحات المزروعة", ["الزراعة", "القمح"]),
    ("الأمن", "حوادث السرقة والخطف", ["الأمن", "الفلتان الأمني"]),
    ("الصحة", "نقص الأدوية في المراكز الصحية", ["الصحة", "المشافي"]),
    ("العودة", "عودة النازحين إلى قراهم", ["العودة", "النازحون"]),
    ("المحروقات", "شح مادة المازوت", ["المحروقات", "الشتاء"]),
    ("الطرق", "ترميم الطرق والجسور", ["إعادة الإعمار", "الجسور"]),
]  # fmt: skip
TITLE_FORMS = [
    "{place}: {issue} يثير استياء الأهالي",
    "{issue} في {place} وسط غياب الحلول",
    "تقرير: {topic} في {place}.. معاناة مستمرة",
    "أهالي {place} يطالبون بحل {issue}",
    "{actor} يعلن خطة لمعالجة {issue} في {place}",
]  # fmt: skip
SENTENCES = [
    "وقال أحد سكان {place} لفرات بوست إن {issue} بات يشكل عبئاً يومياً على العائلات، خاصة مع تراجع فرص العمل وارتفاع تكاليف المعيشة.",
    "وأضاف أن الأهالي تقدموا بشكاوى عدة إلى {actor}، لكنهم لم يتلقوا حتى الآن أي رد واضح أو خطة زمنية للحل.",
    "وتشير تقديرات محلية إلى أن أكثر من {n} عائلة تأثرت بشكل مباشر خلال الأسابيع الماضية في {place} والقرى المحيطة بها.",
    "من جهته، أكد مسؤول في {actor} أن العمل جار على معالجة المشكلة، مرجعاً التأخير إلى ضعف الإمكانات ونقص التمويل.",
    "ويخشى الأهالي من تفاقم الوضع مع اقتراب فصل {season}، في ظل غياب البدائل وارتفاع الأسعار في الأسواق.",
    "وتعد {place} من أكثر المناطق تضرراً خلال سنوات الحرب، إذ دمرت أجزاء واسعة من بنيتها التحتية وهجر كثير من سكانها.",
    "وطالب ناشطون المنظمات العاملة في المنطقة بالتدخل العاجل، وتخصيص جزء من مشاريعها لمعالجة {issue}.",
    "ويقول مزارع من ريف {place} إن تكاليف الإنتاج تضاعفت خلال عام واحد، وإن كثيراً من المزارعين تركوا أراضيهم بحثاً عن عمل آخر.",
    "وفي السياق ذاته، رصد مراسل فرات بوست طوابير طويلة أمام مراكز التوزيع منذ ساعات الصباح الأولى.",
    "ولم تعلن الجهات المعنية عن موعد محدد لانتهاء الأزمة، فيما تتواصل المناشدات عبر وسائل التواصل الاجتماعي.",
    "وبحسب مصادر محلية، فإن {n} شخصاً على الأقل راجعوا المراكز الصحية خلال الأسبوع الماضي بسبب تداعيات {issue}.",
    "ويرى متابعون للشأن المحلي أن الحل يتطلب تنسيقاً أوسع بين الجهات المسؤولة وإشراك أبناء المنطقة في إدارة مواردها.",
]  # fmt: skip
SEASONS = ["الشتاء", "الصيف", "الحصاد", "الدراسة"]
CATEGORY_BY_PLACE = {
    "الرقة": "الرقة", "الطبقة": "الرقة", "المنصورة": "الرقة", "تل أبيض": "الرقة", "معدان": "الرقة",
    "الحسكة": "الحسكة", "القامشلي": "الحسكة", "الشدادي": "الحسكة", "رأس العين": "الحسكة",
}  # fmt: skip


def generate_articles(n: int, seed: int = 0, first_id: int = FIRST_ID) -> list[Article]:
    """``n`` articles, newest first, ids from ``first_id`` upward (oldest has the lowest id)."""
    rng = random.Random(seed)
    when = NEWEST
    stamps = []
    for _ in range(n):
        stamps.append(when)
        when -= timedelta(minutes=rng.randint(90, 600))
    articles = []
    seen_slugs: set[str] = set()
    for i, date in enumerate(reversed(stamps)):
        topic, issue, tags = rng.choice(TOPICS)
        place, actor = rng.choice(PLACES), rng.choice(ACTORS)
        title = rng.choice(TITLE_FORMS).format(place=place, issue=issue, topic=topic, actor=actor)
        title = f"{title} ({i + 1})" if rng.random() < 0.3 else title
        slug = wp_slugify(title)
        base, k = slug, 2
        while slug in seen_slugs:  # WordPress appends -2, -3 to a taken slug
            slug, k = f"{base}-{k}", k + 1
        seen_slugs.add(slug)
        paragraphs = []
        size = 0
        while size < 2600:  # about 5 KB of UTF-8
            text = " ".join(
                rng.choice(SENTENCES).format(
                    place=place,
                    issue=issue,
                    actor=actor,
                    n=rng.randint(20, 900),
                    season=rng.choice(SEASONS),
                )  # fmt: skip
                for _ in range(rng.randint(1, 3))
            )
            paragraphs.append(text)
            size += len(text)
        modified = date + timedelta(minutes=rng.choice([0, 0, 0, 12, 45, 180]))
        category = CATEGORY_BY_PLACE.get(place, "دير-الزور")
        inline = []
        if i > 0 and rng.random() < 0.4:
            inline.append({"after": 1, "kind": "read_also", "post": first_id + i - 1})
        articles.append(
            Article(
                id=first_id + i,
                slug=slug,
                title=title,
                author=rng.choice(["admindiaa", "editor", "m-alhassan"]),
                date_gmt=date.replace(second=0, microsecond=0),
                modified_gmt=modified.replace(second=0, microsecond=0),
                paragraphs=paragraphs,
                categories=["أخبار", category],
                tags=[*tags, place],
                byline=rng.choice(["فرات بوست / أخبار", "فرات بوست / خاص", None]),
                inline=inline,
                featured_image={
                    "id": 900_000 + i,
                    "file": f"{date:%Y/%m}/gen-{first_id + i}.jpg",
                    "caption": "",
                    "alt": title,
                    "width": 1200,
                    "height": 800,
                },  # fmt: skip
            )
        )
    return articles
