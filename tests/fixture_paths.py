"""Where the tests' real-data fixtures are, all inside the repository
(tests/fixtures/boundaries/README.md says where each came from)."""

from __future__ import annotations

from pathlib import Path

from csi_metrics.vocabulary import config

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
MALFORMED = REPO / "tests" / "malformed"

SPA_2022 = config.SHIPPED_BOUNDARIES                                          # official 2022 layer, simplified (shipped)
SPA_2012 = FIXTURES / "boundaries" / "spa_2012_simplified.geojson"            # official 2012 layer, simplified
SPA_2022_FULL_EXCERPT = FIXTURES / "boundaries" / "spa_2022_full_excerpt.geojson"  # full resolution, clipped
DIRECTORY_EXCERPT = FIXTURES / "cde" / "pubschls_excerpt_los_angeles.txt"      # 56 real LA County directory rows
