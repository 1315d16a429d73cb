"""The ``wfdsl`` commands end to end: arguments, files, output, exit statuses."""
