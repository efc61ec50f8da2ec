"""The CUCM platform ``admin:`` shell: the SSH session (``session``) and pure parsers of its screens
(``parse``)."""
