"""The config, from ``config.yaml`` to typed settings, parsed once: the declared keys (``fields``: every key's
type, range, default and meaning), the whole config (``experiment``), the training settings of a stage (``spec``,
with ``schedule``), the ``deploy`` and ``compare`` sections (``sections``), recipes (``recipes``), files stacked
and merged (``files``), unknown keys (``keys``), the generated schema (``schema``) and its one-line messages
(``schema_errors``)."""
