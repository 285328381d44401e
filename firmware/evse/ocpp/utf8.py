# Text on the OCPP-J wire: strict UTF-8 both ways (RFC 6455 5.6 / 8.1,
# RFC 3629). utf8() encodes outgoing text, strict() checks incoming bytes the
# runtime has decoded, has_surrogates() / clean_text() serve the RPC layer
# (evse.ocpp.rpc), which repairs what a JSON escape put in a string. No I/O.
import sys

_MICROPYTHON = sys.implementation.name == "micropython"


# ---------------------------------------------------------------- UTF-8
#
# Text on the wire is strict UTF-8 (RFC 6455 5.6 / 8.1, RFC 3629): no
# surrogates U+D800..U+DFFF, no overlong forms, nothing above U+10FFFF.
# CPython's codec is strict both ways (str.encode raises on a lone
# surrogate). MicroPython's only checks the byte structure: it accepts
# overlong forms, encoded surrogates and leads F5-F7, and its json.loads
# turns each \uXXXX escape into its own code point - a surrogate pair
# "\ud834\udd1e" becomes two surrogates, encoded as 6 bytes of invalid UTF-8
# that a Central System rightly refuses (1007) - so these checks are ours.
_SURROGATE = b"\xed"


def _mp_strict(b, n: int) -> bool:
    """MicroPython: b[:n] (bytes/bytearray whose structure MicroPython has
    already accepted) has none of the forms its codec lets through. Lead
    bytes only occur as leads in valid structure, so C-speed find suffices."""
    for lead in (b"\xc0", b"\xc1", b"\xf5", b"\xf6", b"\xf7"):
        if b.find(lead, 0, n) >= 0:
            return False
    # (lead, lowest and highest allowed second byte)
    for lead, lo, hi in ((b"\xe0", 0xA0, 0xBF), (_SURROGATE, 0x80, 0x9F),
                         (b"\xf0", 0x90, 0xBF), (b"\xf4", 0x80, 0x8F)):
        i = b.find(lead, 0, n)
        while i >= 0:
            c = b[i + 1] if i + 1 < n else 0
            if c < lo or c > hi:
                return False
            i = b.find(lead, i + 1, n)
    return True


def utf8(text: str) -> bytes:
    """text encoded as strict UTF-8. Surrogate pairs become the character
    they encode; a lone surrogate (or anything else not a Unicode scalar
    value) becomes U+FFFD. Outgoing text goes through here, so whatever a
    string picked up (a JSON escape, a runtime's lax codec) the Central
    System gets valid UTF-8."""
    try:
        b = text.encode()
    except UnicodeError:        # CPython: a lone surrogate
        return clean_text(text)[0].encode()
    if _MICROPYTHON and not _mp_strict(b, len(b)):
        return clean_text(text)[0].encode()
    return b


def has_surrogates(text: str) -> bool:
    """text holds a surrogate code point (MicroPython: also a pair)."""
    if not _MICROPYTHON:
        try:
            text.encode()
            return False
        except UnicodeError:
            return True
    b = text.encode()
    n = len(b)
    i = b.find(_SURROGATE)
    while i >= 0:
        if i + 1 < n and b[i + 1] >= 0xA0:
            return True
        i = b.find(_SURROGATE, i + 1)
    return False


def clean_text(text: str) -> tuple:
    """-> (text with every surrogate pair joined into the character it
    encodes and every other non-scalar code point replaced by U+FFFD,
    number of replacements)."""
    out = []
    bad = 0
    hi = 0                      # a high surrogate waiting for its low half
    for ch in text:
        c = ord(ch)
        if 0xDC00 <= c <= 0xDFFF and hi:
            out.append(chr(0x10000 + ((hi - 0xD800) << 10) + (c - 0xDC00)))
            hi = 0
            continue
        if hi:
            out.append("\ufffd")
            bad += 1
            hi = 0
        if 0xD800 <= c <= 0xDBFF:
            hi = c
        elif 0xDC00 <= c <= 0xDFFF or c > 0x10FFFF:
            out.append("\ufffd")
            bad += 1
        else:
            # chr(): one canonical encoding (MicroPython may hold an
            # overlong form it read from bytes)
            out.append(ch if c < 0x80 else chr(c))
    if hi:
        out.append("\ufffd")
        bad += 1
    return "".join(out), bad



def strict(b, n: int) -> bool:
    """b[:n], bytes the runtime decoded without error, is strict UTF-8
    (CPython's codec is strict already; MicroPython's is not)."""
    return not _MICROPYTHON or _mp_strict(b, n)
