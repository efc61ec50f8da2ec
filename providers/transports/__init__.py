"""The one way providers open HTTP(S), SOAP and SSH connections: verified TLS, checked host keys, fixed
timeouts, foreign errors mapped into ``reconciler.errors``, no secrets in messages."""
