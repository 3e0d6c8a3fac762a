"""The dashboard's filter state as plain, hashable values: what every metric
function and every cached loader is keyed on."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

COMMUNITY_CHOICES = ("all", "community", "comparison")


@dataclass(frozen=True)
class Filters:
    year: str | None = None          # '2023-24'; None means every year
    spa: int | None = None           # 1..8
    district: str | None = None      # 7-char county+district code
    school: str | None = None        # 14-char CDS code
    community: str = "all"           # 'all' | 'community' | 'comparison'
    cohort: int | None = None
    school_type: str | None = None   # 'ES' | 'MS' | 'HS' | 'K-12' | 'other'
    student_group: str = "TA"        # CDE reporting category code

    def with_(self, **changes: object) -> "Filters":
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
