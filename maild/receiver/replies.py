"""Every answer the receiver can give, in one place, with enhanced status codes (RFC 3463)."""

RECIPIENT_OK = "250 2.1.5 Recipient OK"
STORED = "250 2.0.0 Stored on ticket #{number}"
DUPLICATE = "250 2.0.0 Already stored on ticket #{number}"
QUARANTINED = "250 2.0.0 Accepted and held for review"
UNKNOWN_RECIPIENT = "550 5.1.1 <{address}>: no such mailbox here"
TEMPORARY_FAILURE = "451 4.3.0 Cannot store the message now, try again later"
INTERNAL_ERROR = "451 4.3.0 Internal error, try again later"
# Flood limits ([smtp] max_connections, max_bytes_in_flight): temporary, the sender retries.
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections, try again later"
INSUFFICIENT_RESOURCES = "451 4.3.1 Insufficient system resources, try again later"
