"""Sample data for the inbox: every feed of FEEDS.md, as Jining's units deliver it, with recorded dirt.

    from jn_credit_dagster.generate import generate
    manifest = generate(Path("inbox"), "2020-01", "2020-12", scale="small", seed=0)

Modules: calendar (working days), seeding (keyed randomness), names + identities (USCC, 身份证号,
names, the city's subjects), spec (feeds and units), deliveries (dates, formats, spellings),
feeds (row builders), dirt (defects, rates, manifest), writers (CSV/xlsx/JSON), run (the loop).
"""

from .dirt import Rates
from .run import generate

__all__ = ["Rates", "generate"]
