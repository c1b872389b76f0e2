"""The SMTP and LMTP receivers (aiosmtpd): bytes and envelope in, an answer after commit."""
