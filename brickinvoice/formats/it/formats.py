# Italian: 27/11/2026 and 27/11/2026 14:05, as on an Italian invoice (Django's own say
# "27 novembre 2026" and "venerdì 27 novembre 2026 14:05").
DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
