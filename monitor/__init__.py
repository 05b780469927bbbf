"""The monitor: joins predictions with the flights' actual departures and watches each model version online."""
