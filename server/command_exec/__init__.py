"""`command/exec`: processes a client runs outside any thread, one registry per connection."""
