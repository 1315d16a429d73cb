"""``wfdsl preview``: a local web page (``page``) served by a small HTTP server
(``server``) that redraws a ``.wf`` file and its lint findings as it is saved."""
