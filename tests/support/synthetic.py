"""Synthetic flights in the dataset's format, generated here for fast unit tests (not the real data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

AIRLINES = {"LAN": "Grupo LATAM", "SKU": "Sky Airline", "AAL": "American Airlines", "LAW": "Latin American Wings"}
DESTINATIONS = {"SCFA": "Antofagasta", "SCCI": "Punta Arenas", "KMIA": "Miami", "SAEZ": "Buenos Aires"}
DAYS = ("Lunes", "Martes", "Miercoles", "Jueves", "Viernes", "Sabado", "Domingo")


def make_flights(rows: int = 3000, seed: int = 7) -> pd.DataFrame:
    """All 18 columns as strings; delays depend on airline, destination and hour so a model can learn."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(list(AIRLINES), rows)
    destinations = rng.choice(list(DESTINATIONS), rows)
    scheduled = pd.Timestamp("2017-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24 * 12, rows) * 5, unit="min")
    risk = (codes == "LAW") * 1.5 + (destinations == "SCCI") * 1.0 + (scheduled.hour >= 19) * 0.8 - 2.0
    delayed = rng.random(rows) < 1 / (1 + np.exp(-risk))
    minutes = np.where(delayed, rng.integers(16, 120, rows), rng.integers(-5, 15, rows))
    operated = scheduled + pd.to_timedelta(minutes, unit="min")
    numbers = rng.integers(100, 130, rows).astype(str)
    international = np.isin(destinations, ["KMIA", "SAEZ"])
    frame = pd.DataFrame(
        {
            "Fecha-I": scheduled.strftime("%Y-%m-%d %H:%M:%S"),
            "Vlo-I": numbers,
            "Ori-I": "SCEL",
            "Des-I": destinations,
            "Emp-I": codes,
            "Fecha-O": operated.strftime("%Y-%m-%d %H:%M:%S"),
            "Vlo-O": numbers,
            "Ori-O": "SCEL",
            "Des-O": destinations,
            "Emp-O": codes,
            "DIA": operated.day.astype(str),
            "MES": operated.month.astype(str),
            "AÑO": operated.year.astype(str),
            "DIANOM": np.asarray(DAYS)[operated.day_of_week],
            "TIPOVUELO": np.where(international, "I", "N"),
            "OPERA": [AIRLINES[c] for c in codes],
            "SIGLAORI": "Santiago",
            "SIGLADES": [DESTINATIONS[d] for d in destinations],
        }
    )
    return frame
