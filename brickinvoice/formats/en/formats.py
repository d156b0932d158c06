# English for sellers in Italy: the day first and a 24-hour clock (27 Nov 2026, 14:05), never the
# American 11/27/2026 that reads as another day; the short forms are numeric, day first.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
