"""Knowledge-base suggestions: the articles of ``[kb] dir`` that may answer a new ticket,
listed in its acknowledgement.

``articles`` reads the folder (Markdown with YAML front matter), ``index`` ranks articles for
a mail with SQLite FTS5's BM25 in an in-memory database, ``suggest`` decides which are
relevant enough to show, and ``holder`` keeps the articles in force and reloads them when
the folder changes. Used by the acknowledgement (``maild.pipeline.acknowledge``) and by
``maild kb``; imports nothing of maild but ``maild.kb`` and ``maild.config``.
"""
