"""What the ChatGPT backend says about the account's usage (rate limits, credits, reset credits)."""
