"""The parsers of discovery's bytes, pure (no Scrapy): sitemaps and robots.txt ``Sitemap:``
lines, RSS/Atom feeds with their encoding, HTML listing pages (links, dates, next page)."""
