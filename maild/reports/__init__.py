"""What a support lead asks of the helpdesk: ``maild report`` and the scheduled report mails.

``period`` says which days a report covers, ``figures`` works the numbers out from what
``storage.reports`` reads, ``render`` writes them as text, JSON or CSV, ``charts`` draws
them (matplotlib, only when a mail needs them) and ``scheduled`` sends ``[[reports]]``.
"""
