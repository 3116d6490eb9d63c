"""Reports of analysed nights: the HTML night report, EDF+ and CSV exports, the nights table.

- :func:`write_night_report` writes one self-contained HTML page (figures embedded) and its PNGs;
- :func:`export_edf` and :func:`export_events_csv` write the night for other tools;
- :func:`nights_table` summarises a folder of saved ``legwatch.night/1`` documents, and
  :func:`render_nights_table` turns it into a rich table for the terminal.

This is the presentation layer: it imports matplotlib (object API, Agg rendering), edfio and rich;
nothing below it imports this package.
"""

from legwatch.report.export import EdfExport, export_edf, export_events_csv
from legwatch.report.html import NightReport, render_night_report, write_night_report
from legwatch.report.nights import night_row, nights_table, render_nights_table

__all__ = [
    "EdfExport",
    "NightReport",
    "export_edf",
    "export_events_csv",
    "night_row",
    "nights_table",
    "render_night_report",
    "render_nights_table",
    "write_night_report",
]
