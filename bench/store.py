"""Store benchmark: N synthetic Arabic articles through the real store path.

    python bench/store.py [N] [--database-url URL] [--batch-size 200]

Each article has about 5 KB of Arabic text (varied paragraphs built from news-style
sentences, place names and numbers). Batches go through ``pipelines.store.BatchWriter`` (the
code the store pipeline runs on its writer thread: one transaction per batch through
``revisions.record``). Three passes:

1. all new;
2. the same articles again, unchanged;
3. again, with 10% edited (one paragraph changed).

Prints articles/s (time spent storing, not generating) and peak memory (``ru_maxrss``) after
each pass. Without ``--database-url`` (or ``DATABASE_URL``) a fresh database is created on
the local server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import resource
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from crawler.config import database_url_from_env
from crawler.items import ArticleItem, SiteInfo
from pipelines.store import BatchWriter

LOCAL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SITE = SiteInfo("benchnews", "أخبار الاختبار", "https://bench.example/")
BASE = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)

PLACES = [
    "دير الزور",
    "الرقة",
    "الحسكة",
    "الميادين",
    "البوكمال",
    "القامشلي",
    "منبج",
    "حلب",
    "إدلب",
    "حمص",
    "حماة",
    "درعا",
    "السويداء",
    "اللاذقية",
    "طرطوس",
    "دمشق",
    "ريف دمشق",
    "الشدادي",
    "العشارة",
    "الصور",
    "هجين",
    "الطبقة",
    "عين العرب",
    "رأس العين",
]
ACTORS = [
    "قوات سوريا الديمقراطية",
    "مجلس دير الزور العسكري",
    "الأهالي",
    "ناشطون محليون",
    "المجلس المحلي",
    "منظمات إنسانية",
    "مصادر طبية",
    "الدفاع المدني",
    "وجهاء العشائر",
    "لجنة الزراعة",
    "مديرية التربية",
    "شركة الكهرباء",
    "مراسل فرات بوست",
]
EVENTS = [
    "نفذت حملة مداهمات واعتقالات طالت عدداً من الشبان",
    "أعلنت عن افتتاح مشروع جديد لإعادة تأهيل شبكة المياه",
    "شهدت احتجاجات شعبية للمطالبة بتحسين الخدمات الأساسية",
    "تعرضت لقصف مدفعي أدى إلى أضرار مادية في المنازل",
    "سجلت ارتفاعاً جديداً في أسعار الخبز والمحروقات",
    "استقبلت دفعة من العائلات النازحة من المناطق المجاورة",
    "عانت من انقطاع التيار الكهربائي لساعات طويلة",
    "أطلقت حملة لتلقيح الأطفال ضد الأمراض الموسمية",
    "وقعت فيها مشاجرة عشائرية أسفرت عن إصابات",
    "بدأت موسم حصاد القمح وسط مخاوف من تدني الأسعار",
    "شهدت انفجار عبوة ناسفة على الطريق الرئيسي",
    "افتتحت مدرسة بعد ترميمها بدعم من منظمة دولية",
]
CLOSERS = [
    "وأكدت المصادر أن الوضع ما يزال متوتراً حتى ساعة إعداد هذا التقرير.",
    "ولم يصدر أي تعليق رسمي من الجهات المعنية حتى الآن.",
    "وطالب السكان بتدخل عاجل لوضع حد لمعاناتهم المستمرة منذ سنوات.",
    "ويأتي ذلك في ظل تدهور الأوضاع المعيشية وارتفاع معدلات البطالة.",
    "وأشار ناشطون إلى أن الحادثة ليست الأولى من نوعها خلال الشهر الجاري.",
    "وتعهدت الإدارة المحلية بمتابعة القضية ومحاسبة المسؤولين عنها.",
]
SECTIONS = ["أخبار محلية", "تقارير", "اقتصاد", "حقوق الإنسان", "خدمات"]


def paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(3, 5)):
        sentences.append(
            f"قال {rng.choice(ACTORS)} إن مدينة {rng.choice(PLACES)} {rng.choice(EVENTS)}، "
            f"وذلك يوم {rng.randint(1, 28)} من الشهر الجاري، حيث بلغ عدد المتضررين "
            f"{rng.randint(3, 900)} شخصاً بحسب تقديرات أولية. {rng.choice(CLOSERS)}"
        )
    return " ".join(sentences)


def article(i: int, *, fetched_at: datetime, edited: bool = False) -> ArticleItem:
    rng = random.Random(i)  # the same article every pass unless edited
    paragraphs: list[str] = []
    while sum(len(p.encode()) for p in paragraphs) < 5000:
        paragraphs.append(paragraph(rng))
    if edited:
        paragraphs[1] = paragraph(random.Random(f"edit-{i}"))
    place = rng.choice(PLACES)
    url = f"https://bench.example/{BASE.year}/{i}/%D8%AE%D8%A8%D8%B1-{i}/"
    return ArticleItem(
        site=SITE.slug,
        url=url,
        canonical_url=url,
        fetched_at=fetched_at,
        title=f"{place}: {rng.choice(EVENTS)} ({i})",
        body_text="\n\n".join(paragraphs),
        external_id=str(100000 + i),
        authors=[rng.choice(["admindiaa", "فريق التحرير", "مراسل فرات بوست"])],
        published_at=BASE + timedelta(minutes=i),
        section=rng.choice(SECTIONS),
        tags=rng.sample(PLACES, 2),
        urls=[f"https://bench.example/?p={100000 + i}"],
        extractor="bench",
        extractor_version="1",
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_pass(writer: BatchWriter, n: int, batch_size: int, day: int, edit_every: int) -> dict:
    fetched_at = BASE + timedelta(days=day)
    spent = 0.0
    totals: dict[str, int] = {}
    for start in range(0, n, batch_size):
        batch = [
            article(i, fetched_at=fetched_at, edited=bool(edit_every) and i % edit_every == 0)
            for i in range(start, min(n, start + batch_size))
        ]
        t0 = time.perf_counter()
        stats = writer.write(batch, None)
        spent += time.perf_counter() - t0
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
    if totals.get("store/spooled_items") or totals.get("store/errors"):
        raise SystemExit(f"the database did not take every batch: {totals}")
    return {"rate": n / spent, "seconds": spent, "stats": totals, "peak_mb": peak_mb()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--server", default=LOCAL_SERVER, help="where the fresh database goes")
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()

    url = args.database_url or database_url_from_env()
    created = None
    if url is None:
        created = f"akhbar_bench_{secrets.token_hex(4)}"
        admin = make_url(args.server).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(created)))
        url = make_url(args.server).set(database=created).render_as_string(False)
    try:
        with tempfile.TemporaryDirectory() as spool:
            writer = BatchWriter(SITE, database_url=url, spool_directory=Path(spool), retry_times=0)
            writer.connect()  # migrations and the site row are not part of the timing
            sample = article(0, fetched_at=BASE)
            print(
                f"{args.n} articles, body {len(sample.body_text.encode())} bytes UTF-8 "
                f"({len(sample.body_text)} characters), batches of {args.batch_size}"
            )
            passes = [("1 all new", 0, 0), ("2 unchanged", 1, 0), ("3 10% edited", 2, 10)]
            for label, day, edit_every in passes:
                result = run_pass(writer, args.n, args.batch_size, day, edit_every)
                counts = ", ".join(
                    f"{k.removeprefix('store/')} {v}"
                    for k, v in sorted(result["stats"].items())
                    if k in ("store/new", "store/unchanged", "store/revised")
                )
                print(
                    f"pass {label:<13} {result['rate']:8.0f} articles/s  "
                    f"({result['seconds']:.1f} s; {counts})  peak memory {result['peak_mb']:.0f} MB"
                )
            if writer.engine is not None:
                writer.engine.dispose()
    finally:
        if created is not None:
            from crawler.db.session import dispose_engines

            dispose_engines()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(created)
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
