import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for p in (os.path.join(ROOT, "tools"), os.path.join(ROOT, "firmware")):
    if p not in sys.path:
        sys.path.insert(0, p)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Throwaway self-signed certificates (openssl CLI): "good" for
    localhost/127.0.0.1, "other" an unrelated CA, "wrongname" for example.com.
    Each is (key path, certificate path, certificate PEM bytes)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed for the TLS tests (apt-get install openssl)")
    d = tmp_path_factory.mktemp("certs")

    def make(name, cn, san):
        key, crt = str(d / (name + ".key")), str(d / (name + ".pem"))
        cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + cn]
        if san:
            cmd += ["-addext", "subjectAltName=" + san]
        subprocess.run(cmd, check=True, capture_output=True)
        with open(crt, "rb") as f:
            return key, crt, f.read()

    return {
        "good": make("good", "localhost", "DNS:localhost,IP:127.0.0.1"),
        "other": make("other", "other-ca", None),
        "wrongname": make("wrongname", "example.com", "DNS:example.com"),
    }
