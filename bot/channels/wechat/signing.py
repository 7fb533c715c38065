"""Who may call /wechat: WeChat's URL signature, the message signature of safe mode, and its AES envelope.

WeChat signs every call to the server URL with sha1 of the sorted (Token, timestamp, nonce); in safe mode
(安全模式) the body is AES-encrypted and `msg_signature` also covers the ciphertext. Signatures are compared
in constant time; wechatpy does the AES (PKCS#7, the AppID check) and builds encrypted replies.
"""

from __future__ import annotations

import hmac
import time

import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

MAX_SKEW = 300  # seconds a signed URL stays valid: a captured one cannot be replayed for long


class Refused(Exception):
    """A call that must not be handled: `status` (400 or 403) and a short reason for the log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def check_url(token: str, query: dict[str, str], *, now: float | None = None) -> None:
    """The query's `signature` over (Token, timestamp, nonce), and a timestamp within MAX_SKEW of our clock."""
    signature, timestamp, nonce = query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
    if not (signature and timestamp.isdigit() and nonce):
        raise Refused(403, "signature, timestamp or nonce missing")
    if not hmac.compare_digest(sign(token, timestamp, nonce).encode(), signature.encode()):
        raise Refused(403, "bad signature")
    skew = (time.time() if now is None else now) - int(timestamp)
    if abs(skew) > MAX_SKEW:
        raise Refused(403, f"timestamp {skew:+.0f} s from this server's clock (more than {MAX_SKEW} s): "
                           "a replayed call, or this server's clock is wrong")


def parse_xml(body: bytes | str) -> dict:
    """The children of the <xml> root as a dict; Refused(400) for anything else. A DTD is refused outright:
    WeChat never sends one, and entities are how XML bodies are made to explode."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if "<!" in text.replace("<![CDATA[", ""):
        raise Refused(400, "XML with a DTD or entity declaration")
    try:
        root = xmltodict.parse(text, disable_entities=True)
    except Exception as exc:  # expat's errors
        raise Refused(400, f"malformed XML ({type(exc).__name__})") from None
    xml = root.get("xml") if isinstance(root, dict) else None
    if not isinstance(xml, dict):
        raise Refused(400, "no <xml> element with fields")
    return xml


class Envelope:
    """Safe mode: open an encrypted message after checking `msg_signature`; seal a reply."""

    def __init__(self, token: str, aes_key: str, app_id: str):
        self.token = token
        self.app_id = app_id
        self._crypto = WeChatCrypto(token, aes_key, app_id)
        self._key = self._crypto.key

    def open(self, body: bytes, query: dict[str, str]) -> str:
        """The decrypted inner XML. 403 when msg_signature does not cover this ciphertext, or the message is
        for another AppID; 400 when it is not a safe-mode envelope at all."""
        encrypted = parse_xml(body).get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise Refused(400, "safe mode message without <Encrypt>")
        given = query.get("msg_signature", "")
        expected = sign(self.token, query.get("timestamp", ""), query.get("nonce", ""), encrypted)
        if not given or not hmac.compare_digest(expected.encode(), given.encode()):
            raise Refused(403, "bad msg_signature")
        try:
            return PrpCrypto(self._key).decrypt(encrypted, self.app_id)
        except Exception as exc:  # wrong AppID, bad padding, bad base64, truncated
            if type(exc).__name__ == "InvalidAppIdException":
                raise Refused(403, "encrypted for another AppID") from None
            raise Refused(400, f"could not decrypt ({type(exc).__name__})") from None

    def seal(self, xml: str, nonce: str, timestamp: str) -> str:
        return self._crypto.encrypt_message(xml, nonce, timestamp)
