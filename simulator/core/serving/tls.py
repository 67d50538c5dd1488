"""HTTPS for clients that insist on it: a CA and a localhost certificate made at start-up."""

from pathlib import Path

import trustme


def make_certificates(directory: Path) -> dict:
    """Write ca.pem, cert.pem and key.pem for localhost / 127.0.0.1 / ::1 into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="otpsim test CA")
    leaf = authority.issue_cert("localhost", "127.0.0.1", "::1")
    paths = {name: directory / f"{name}.pem" for name in ("ca", "cert", "key")}
    authority.cert_pem.write_to_path(str(paths["ca"]))
    leaf.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    leaf.private_key_pem.write_to_path(str(paths["key"]))
    return paths
