"""The config, from ``config.yaml`` to typed settings: files stacked and merged (``files``), keys (``keys``), the
typed stage settings (``spec``, with ``schedule``), recipes (``recipes``), the ``deploy`` and ``compare`` sections
(``sections``) and the one-line messages of the workflow's schema (``schema_errors``)."""
