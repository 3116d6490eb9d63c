"""Reports of analysed nights: the HTML night report, EDF+ and CSV exports, the nights table.

- :func:`write_night_report` writes one self-contained HTML page (figures embedded) and its PNGs;
- :func:`export_edf` and :func:`export_events_csv` write the night for other tools;
- :func:`nights_table` summarises a folder of saved ``legwatch.night/1`` documents, and
  :func:`render_nights_table` turns it into a rich table for the terminal.

This is the presentation layer: it imports matplotlib (object API, Agg rendering), edfio and rich;
nothing below it imports this package.
"""

from legwatch.report.html import NightReport, render_night_report, write_night_report

__all__ = ["NightReport", "render_night_report", "write_night_report"]
