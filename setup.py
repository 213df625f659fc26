# Shim for scrapyd-deploy, which builds the project's egg with `python setup.py bdist_egg` (and
# would write a setup.py of its own into the repository if none existed). Everything is declared
# in pyproject.toml, including the `scrapy` entry point that tells scrapyd the settings module.
from setuptools import setup

setup()
