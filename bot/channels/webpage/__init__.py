"""The residents' chat page, mounted by `serve` at / while WEBPAGE_ENABLED (the default).

`endpoint.py` is the channel (the page, its assets, and the JSON endpoint the page posts to); `session.py`
signs the browser's session cookie; `security.py` holds the headers and the same-origin check every
response and request goes through; `view.py` turns a `Reply` into what the page's script renders, and the
page's requests into kit `Action`s. The page itself is `static/`: no external resources, no inline script.
"""
