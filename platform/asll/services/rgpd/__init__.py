"""RGPD: retention, anonymisation, the rights of the people in the files, legal pages.

* :mod:`.policy` – a département's retention policy (defaults from the CNIL's référentiel);
* :mod:`.retention` – the daily task's plan and run (last contact, who is anonymised);
* :mod:`.anonymise` – anonymising, archiving and erasing one household's file;
* :mod:`.elsewhere` – its copies outside the file: stored API answers, named exports;
* :mod:`.scrub` – the explicit rule that keeps codes and scrubs free texts from the JSON;
* :mod:`.data` – where a household's data lives: the core's tables and the plugins' hooks;
* :mod:`.rights` – access (JSON and PDF), erasure where no legal duty forbids it, who read the file;
* :mod:`.legal` – the legal pages and the record of processing, from the tenant's settings;
* :mod:`.audit_retention` – the audit trail purged by checkpointed segments (a maintenance command).
"""
