"""A logistic model over one-hot features explains itself: each active category adds its coefficient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.lookup import LookupTables

_LABELS = {
    "month": "month",
    "week": "week of year",
    "weekday": "weekday",
    "hour": "scheduled hour",
    "period_of_day": "period of day",
    "high_season": "high season",
    "airline": "airline",
    "flight_type": "flight type",
    "destination": "destination",
    "flight": "flight",
    "airline_x_period": "airline × period",
    "airline_x_month": "airline × month",
    "destination_x_month": "destination × month",
    "month_x_weekday": "month × weekday",
    "flight_type_x_hour": "flight type × hour",
}


@dataclass(frozen=True)
class Contribution:
    feature: str
    category: str
    log_odds: float

    def words(self, destination_names: dict[str, str] | None = None) -> str:
        """E.g. `destination SCCI (Punta Arenas): +0.42 log-odds`."""
        category = self.category
        if self.feature == "destination" and destination_names and category in destination_names:
            category = f"{category} ({destination_names[category]})"
        if self.feature == "high_season":
            category = "yes" if category == "1" else "no"
        if self.feature == "flight_type":
            category = {"I": "international", "N": "national"}.get(category, category)
        return f"{_LABELS.get(self.feature, self.feature)} {category}: {self.log_odds:+.2f} log-odds"


def coefficients(tables: LookupTables) -> list[Contribution]:
    """Every (feature, category) of the one-hot encoder with its logistic coefficient, in column order."""
    pairs = [(feature.name, category) for feature in tables.features for category in feature.categories]
    return [Contribution(f, c, w) for (f, c), w in zip(pairs, tables.coefficients, strict=True)]


def largest(contributions: list[Contribution], count: int) -> list[Contribution]:
    order = np.argsort([-abs(c.log_odds) for c in contributions], kind="stable")
    return [contributions[i] for i in order[:count]]
