"""Scrapy settings for the chinalco-archive project (``scrapy.cfg`` points here).

Project settings carry the ``ARCHIVER_`` prefix. Politeness defaults are for the real network;
``archiver crawl --replica`` overrides only timing values (harness/replica/hook.py) and keeps
every component the same, so the replica crawl exercises the production code path.
"""
import os

BOT_NAME = "chinalco_archive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# ---------------------------------------------------------------- politeness
# Who we are and how to reach us. Set ARCHIVER_CONTACT (an e-mail or URL) before crawling the
# real network; the placeholder below is deliberately invalid.
# The User-Agent is built from it when the crawl starts (archiver/extensions/operator.py
# ArchiverAddon), so `-s ARCHIVER_CONTACT=…` works as well as the environment variable; the real
# network getting the placeholder is a warning in the log and on stderr.
ARCHIVER_CONTACT = os.environ.get("ARCHIVER_CONTACT", "set-ARCHIVER_CONTACT@example.invalid")
USER_AGENT = (f"chinalco-archive/0.1 (news archive crawler; +https://github.com/chinalco-archive; "
              f"contact: {ARCHIVER_CONTACT})")
ADDONS = {"archiver.extensions.operator.ArchiverAddon": 0}
ARCHIVER_REPLICA = False                 # set by `archiver crawl --replica`: the real network is not reached
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for the output of every callback (100 by default);
# the pipelines are synchronous, so they gain nothing from it. 4: -18 % wall time on a full crawl of
# a generated 2,500-article replica (25.5/26.6 s -> 20.7/22.0 s, two runs each, alternating).
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5              # ±50% around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
# Anti-bot statuses (412, 521) are NOT retried hot: they are recorded and retried by a later run.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
COOKIES_ENABLED = False
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
}
# Redirects are followed within the network only (an off-network, other-scheme, looping or endless
# redirect is a failure on the URL asked for); 429/503 with Retry-After wait that long (at most
# ARCHIVER_RETRY_AFTER_MAX seconds) before the retry (archiver/middlewares.py).
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "archiver.middlewares.NetworkRedirectMiddleware": 600,
    "archiver.middlewares.RetryAfterMiddleware": 560,
    "archiver.middlewares.ProxyMiddleware": 740,          # before HttpProxyMiddleware (750)
}
REDIRECT_MAX_TIMES = 5
ARCHIVER_RETRY_AFTER_MAX = 120.0
# A forward proxy for every request (archiver/middlewares.py ProxyMiddleware); unset, http_proxy /
# https_proxy / no_proxy from the environment are honoured (HttpProxyMiddleware).
ARCHIVER_PROXY = None
HTTPPROXY_ENABLED = True

# ---------------------------------------------------------------- components
# The spider reads each article where its response is (archiver/reading.py); the pipelines count
# and store what it yields.
ITEM_PIPELINES = {
    "pipelines.stats.ArticleStatsPipeline": 300,
    "pipelines.store.StorePipeline": 900,
}
# Quality (archiver/quality.py): a displayed date before this day is implausible for the network.
ARCHIVER_QUALITY_EARLIEST_DATE = "1990-01-01"
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    # feed exports (-O items.jsonl, FEEDS) get the articles, not the crawl's internal items
    "scrapy.extensions.feedexport.FeedExporter": None,
    "archiver.extensions.operator.ArticleFeedExporter": 0,
    "archiver.extensions.operator.OperatorExtension": 490,
    "archiver.extensions.progress.ProgressExtension": 500,
    "archiver.extensions.warc.WarcExtension": 510,     # off unless ARCHIVER_WARC_DIR is set (#15)
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# ---------------------------------------------------------------- archive
ARCHIVER_DB = os.environ.get("ARCHIVER_DB", "archive.db")
ARCHIVER_SITES = ""                      # comma-separated site ids; empty = every site
ARCHIVER_REGISTRY = ""                   # a site registry TOML; empty = the bundled archiver/sites/network.toml
ARCHIVER_MAX_LIST_PAGES = 200            # per channel walk; a safety stop for runaway pagers (reported)
# Extraction runs in the crawl process, in linear time per page by design; a page that still takes
# longer than this many seconds is logged and counted (a warning in the run summary).
ARCHIVER_EXTRACT_TIME_BUDGET = 2.0
# Discovery (archiver/discovery.py): channels and member sites beyond the registry, found on
# homepages, menus, landing pages and article URLs. `archiver crawl --registry-only` = False.
ARCHIVER_DISCOVERY = True
ARCHIVER_DISCOVERY_MAX_CHANNELS = 100    # channels walked per site (registered ones count)
ARCHIVER_DISCOVERY_MAX_SITES = 50        # member sites not in the registry
ARCHIVER_DISCOVERY_MAX_DEPTH = 4         # discovery hops from a registered channel or a homepage
ARCHIVER_PROGRESS_INTERVAL = 10.0        # seconds between progress lines (0 = off)
ARCHIVER_WARC_DIR = ""                   # a folder: the crawl writes every response to a WARC there (#15)
# The store step commits after this many items or seconds, whichever comes first (a killed crawl
# loses at most the open batch; the next run fetches it again). 1 / 0 = a commit per item.
ARCHIVER_COMMIT_EVERY = 200
ARCHIVER_COMMIT_INTERVAL = 1.0

# ---------------------------------------------------------------- recurring crawls (README:
# "Scheduled and incremental crawls"; policy in archiver/incremental.py)
# incremental: stop at a channel whose first list page answers 304, page on only while list
# pages hold unarchived rows (+ margin), revalidate archived rows with conditional requests,
# retry due failures. full: every page of every pager, unconditionally (`archiver crawl --full`).
ARCHIVER_MODE = "incremental"
ARCHIVER_INCREMENTAL_MARGIN = 1          # list pages read after the last page with unarchived rows
# Archived rows on the list pages walked get a conditional request when due: "due" = the time
# since their last check reached FACTOR x their age at that check, within [MIN_AGE, MAX_AGE]
# seconds (RFC 9111 heuristic freshness; archiver/incremental.py Revalidation); "all" = every
# archived row of a walked page; "none" = never (`archiver crawl --revalidate MODE`).
ARCHIVER_REVALIDATE = "due"
ARCHIVER_REVALIDATE_FACTOR = 0.1
ARCHIVER_REVALIDATE_MIN_AGE = 600.0
ARCHIVER_REVALIDATE_MAX_AGE = 30 * 86400.0
# Failures of earlier runs (retryable, unresolved) are retried after
# min(BASE * FACTOR ** (attempts - 1), MAX) seconds, until MAX_ATTEMPTS attempts (a --full run
# retries every open retryable failure regardless).
ARCHIVER_RETRY_BACKOFF_BASE = 1800.0
ARCHIVER_RETRY_BACKOFF_FACTOR = 2.0
ARCHIVER_RETRY_BACKOFF_MAX = 7 * 86400.0
ARCHIVER_RETRY_MAX_ATTEMPTS = 10

# Health (archiver/health.py): exit status 1 when the run is unhealthy.
ARCHIVER_MAX_FAILURE_RATIO = 0.5                   # share of tried pages that failed
ARCHIVER_HEALTH_SITE_CHECKS = True                 # per-site rules on/off
ARCHIVER_HEALTH_EXTRACTION_JUMP = 0.2              # rise of a site's extraction-failure rate vs its history
ARCHIVER_HEALTH_MAX_EXTRACTION_FAILURE_RATE = 0.5  # the same without history
ARCHIVER_HEALTH_MIN_ARTICLE_PAGES = 10             # fewer article pages: the rate is not judged
ARCHIVER_HEALTH_HISTORY_RUNS = 5                   # earlier runs the rate is compared with

# ---------------------------------------------------------------- distributed crawls (docs/distributed.md)
# `archiver crawl --redis URL --workers K` and `archiver worker --redis URL` set these; a crawl
# without them is one process and needs no Redis.
ARCHIVER_REDIS_URL = ""                  # redis://HOST:PORT/N of the shared frontier
ARCHIVER_REDIS_PREFIX = "archiver"       # the crawl's keys in Redis (one crawl per prefix at a time)
ARCHIVER_REDIS_ROLE = ""                 # seed | worker | writer (set per process by the coordinator)
ARCHIVER_REDIS_WORKER = ""               # this worker's name in Redis (default host-pid-random)
ARCHIVER_REDIS_WORKER_TIMEOUT = 60.0     # seconds without a heartbeat: a worker is dead, its requests go back
ARCHIVER_REDIS_HEARTBEAT = 2.0           # seconds between a worker's heartbeats (and stats snapshots)
ARCHIVER_REDIS_POLL_INTERVAL = 0.5       # seconds between an idle worker's looks at the shared queue
# Politeness (archiver/distributed/politeness.py): the requests of every worker to a host
# share one limit through Redis. Unset, the limits are the ones a single process keeps.
ARCHIVER_REDIS_HOST_CONCURRENCY = 0      # requests at once per host, all workers (0: CONCURRENT_REQUESTS_PER_DOMAIN)
ARCHIVER_REDIS_HOST_DELAY = -1.0         # seconds between request starts per host, all workers (< 0: DOWNLOAD_DELAY)

# ---------------------------------------------------------------- Scrapy housekeeping
LOG_LEVEL = "INFO"
LOG_FORMATTER = "archiver.extensions.operator.ArchiverLogFormatter"   # a dropped item is one line
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
