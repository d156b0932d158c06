"""Our date and time formats, over Django's for the same language (settings.FORMAT_MODULE_PATH).

Only what differs from Django's is here; numbers (``49,77``) and the input formats stay Django's.
Every date on a page is ``|date`` (DATE_FORMAT) and every moment ``|date:"DATETIME_FORMAT"`` (or
the plain variable), in Europe/Rome: one format per kind, instead of the three the pages had.
"""
