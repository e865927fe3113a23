"""WeCom integration: API client, callback crypto and receiver, channel, sandbox server."""
