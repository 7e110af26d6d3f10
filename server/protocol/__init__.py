"""Wire models and error vocabulary, one module per domain. Camel case on the wire."""
