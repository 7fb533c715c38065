"""WeChat Official Account channel (公众号), mounted by `serve` at /wechat when WECHAT_TOKEN is set.

endpoint.py answers WeChat's calls (verification, messages) and maps settings; signing.py checks signatures
and opens safe mode's envelope; messages.py reads the XML into a kit Action; rendering.py turns a Reply into
plain-text messages within WeChat's limit; delivery.py answers each message once, passively or late through
the customer-service API (api.py: access token and sending); shared.py keeps what replicas share.
"""
